using FastSeg.Torch.Interop;
using FastSeg.Torch.Modules;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// What <see cref="utils.prepack_convolutions"/> did, and the owner of the packed weights: disposing it
        /// releases them and gives every changed module its ordinary forward back.
        /// </summary>
        public sealed class ConvolutionPrepacking : IDisposable
        {
            private readonly List<PrepackedConvolution> _kernels;
            private readonly List<Module<Tensor, Tensor>> _skippedActivations;
            private bool _disposed;

            internal ConvolutionPrepacking(List<PrepackedConvolution> kernels, List<Module<Tensor, Tensor>> skippedActivations,
                IReadOnlyList<(string Convolution, string Activation)> fusedWithRelu, IReadOnlyList<string> plain,
                IReadOnlyList<(string Convolution, string Reason)> unpacked)
            {
                _kernels = kernels;
                _skippedActivations = skippedActivations;
                FusedWithRelu = fusedWithRelu;
                Plain = plain;
                Unpacked = unpacked;
            }

            /// <summary>Each convolution that now runs with its ReLU fused, and the ReLU module that now passes its input through.</summary>
            public IReadOnlyList<(string Convolution, string Activation)> FusedWithRelu { get; }

            /// <summary>Convolutions packed without an activation.</summary>
            public IReadOnlyList<string> Plain { get; }

            /// <summary>Convolutions left as they were, with the reason.</summary>
            public IReadOnlyList<(string Convolution, string Reason)> Unpacked { get; }

            /// <summary>How many packed contexts exist now (each is made on its convolution's first call).</summary>
            public int PackedCount => _kernels.Count(k => k.IsPacked);

            /// <summary>Releases the packed weights; the convolutions and ReLUs run their ordinary forward again.</summary>
            public void Dispose()
            {
                if (_disposed) return;
                _disposed = true;
                foreach (var kernel in _kernels) kernel.Dispose();
                foreach (var activation in _skippedActivations) activation.CallReplacement = null;
            }
        }

        /// <summary>
        /// The output of the last convolution fused with ReLU whose ReLU is applied in place by other code
        /// (<c>conv.call(x).relu_()</c> in a block's forward). Every dispatcher call clears it, so <c>relu_</c> on that
        /// tensor is skipped only when no operator ran in between: the tensor is then known to be ≥ 0 and unchanged.
        /// </summary>
        internal static class NonNegativeOutput
        {
            [ThreadStatic] private static Tensor? t_pending;

            internal static void Clear() => t_pending = null;

            internal static void Mark(Tensor output) => t_pending = output;

            /// <summary>Whether <paramref name="t"/> is (an alias of) the marked output; clears the mark.</summary>
            internal static bool Consume(Tensor t)
            {
                var pending = t_pending;
                if (pending is null) return false;
                t_pending = null;
                return ReferenceEquals(pending, t) || (!pending.IsInvalid && OpTrace.ImplOf(pending) == OpTrace.ImplOf(t));
            }
        }

        /// <summary>
        /// One convolution module run through <see cref="mkldnn_prepacked.conv2d_run"/>. The weights are packed on the
        /// first call, for that call's input size (oneDNN picks the weight layout for it; other sizes still run).
        /// </summary>
        internal sealed class PrepackedConvolution : IDisposable
        {
            private readonly Conv2d _conv;
            private readonly string _attr;
            private readonly object _gate = new();
            private ScriptObject? _context;
            private bool _disposed;

            private readonly bool _marksOutput;

            internal PrepackedConvolution(Conv2d conv, string attr, bool marksOutput)
            {
                _conv = conv;
                _attr = attr;
                _marksOutput = marksOutput;
                conv.CallReplacement = Run;
            }

            internal bool IsPacked => _context is not null;

            private Tensor Run(Tensor input)
            {
                // conv2d_run reads a channels-last input as dense: a channel slice of a channels-last tensor (a
                // chunk or split) gives wrong results in libtorch 1.13, so anything not densely channels-last is copied.
                if (!input.is_contiguous(MemoryFormat.ChannelsLast))
                {
                    using var dense = input.contiguous(MemoryFormat.ChannelsLast);
                    return Run(dense);
                }
                var context = Volatile.Read(ref _context) ?? Pack(input);
                var output = mkldnn_prepacked.conv2d_run(input, context);
                if (_marksOutput) NonNegativeOutput.Mark(output);
                return output;
            }

            private ScriptObject Pack(Tensor input)
            {
                lock (_gate)
                {
                    ObjectDisposedException.ThrowIf(_disposed, this);
                    if (_context is not null) return _context;
                    var shape = input.shape;
                    if (shape.Length != 4)
                        throw new ArgumentException($"Conv2d ({_conv.in_channels} → {_conv.out_channels}): expected an (N, C, H, W) input, got [{string.Join(", ", shape)}]", nameof(input));
                    var context = mkldnn_prepacked.conv2d_prepack(_conv.weight, _conv.bias, _conv.stride, _conv.padding, _conv.dilation,
                        _conv.groups, new[] { 1, shape[1], shape[2], shape[3] }, _attr);
                    Volatile.Write(ref _context, context);
                    return context;
                }
            }

            public void Dispose()
            {
                lock (_gate)
                {
                    if (_disposed) return;
                    _disposed = true;
                    _conv.CallReplacement = null;
                    _context?.Dispose();
                    _context = null;
                }
            }
        }

        public static partial class utils
        {
            /// <summary>
            /// Runs every <see cref="Modules.Conv2d"/> of <paramref name="module"/> through oneDNN with weights packed once
            /// (<see cref="mkldnn_prepacked.conv2d_prepack"/>), and fuses a ReLU into the convolution where a recorded
            /// forward pass of <paramref name="example"/> proves it safe: every call of the convolution module produced
            /// a tensor that only a ReLU module's <c>relu</c>/<c>relu_</c> read (and that is not the module's output),
            /// and that ReLU module (a module whose every own operator call is one relu, such as <c>nn.ReLU</c>) only
            /// ever received such tensors; the ReLU module then passes its input through. A convolution whose output
            /// only an in-place <c>relu_</c> by other code reads (<c>conv.call(x).relu_()</c> in a block's forward, also
            /// through a folded batch norm) is fused too, and that <c>relu_</c> returns at once when no other operator
            /// ran since the convolution. An out-of-place <c>relu()</c> by other code is left alone (its result is a new
            /// tensor that may be changed in place) and the convolution is packed without it.
            /// Meant for evaluation-only copies in their final dtype and layout (packed weights are a snapshot:
            /// later changes to the convolution's weight are not seen). Packed kernels are fastest on channels-last
            /// inputs.
            /// </summary>
            /// <param name="module">A module in evaluation mode, in the dtype and layout it will run in.</param>
            /// <param name="example">An input it accepts, in that dtype and layout (small is enough).</param>
            /// <returns>What was packed and fused; dispose it to release the packed weights and undo the change.</returns>
            /// <exception cref="InvalidOperationException">The module is in training mode.</exception>
            public static ConvolutionPrepacking prepack_convolutions(Module<Tensor, Tensor> module, Tensor example)
            {
                ArgumentNullException.ThrowIfNull(module);
                ArgumentNullException.ThrowIfNull(example);
                if (module.training)
                    throw new InvalidOperationException($"{module.Name}: convolutions are prepacked only in evaluation mode (call eval() first)");

                var convByWeight = new Dictionary<IntPtr, (string Name, Conv2d Module)>();
                var names = new Dictionary<Module, string>(ReferenceEqualityComparer.Instance);
                foreach (var (name, m) in module.named_modules())
                {
                    names.TryAdd(m, name);
                    if (m is Conv2d conv) convByWeight[OpTrace.ImplOf(conv.weight)] = (name, conv);
                }

                using var trace = OpTrace.Start();
                IntPtr resultImpl;
                using (var scope = NewDisposeScope())
                using (inference_mode())
                {
                    var output = module.call(example);
                    resultImpl = OpTrace.ImplOf(output);
                }
                var entries = trace.Entries;

                // Which calls read each written value (an in-place call reads the value before it).
                var writer = new Dictionary<IntPtr, int>();
                var readers = new Dictionary<(IntPtr, int), List<int>>();
                for (int i = 0; i < entries.Count; i++)
                {
                    foreach (var (_, impl) in entries[i].Inputs)
                    {
                        if (!writer.TryGetValue(impl, out int w)) continue;
                        if (!readers.TryGetValue((impl, w), out var r)) readers[(impl, w)] = r = new List<int>();
                        if (r.Count == 0 || r[^1] != i) r.Add(i);
                    }
                    foreach (var impl in entries[i].Outputs) writer[impl] = i;
                }

                // ReLU modules: every operator they issue themselves is one relu, and no module inside them issues any.
                var callers = entries.Where(e => e.Caller is not null).Select(e => e.Caller!).Distinct(ReferenceEqualityComparer.Instance).Cast<Module>().ToList();
                bool IsRelu(string op) => op == Aten.relu.FullName || op == Aten.relu_.FullName;
                var reluModules = new HashSet<Module>(ReferenceEqualityComparer.Instance);
                foreach (var m in callers)
                {
                    if (m is not Module<Tensor, Tensor> || ReferenceEquals(m, module)) continue;
                    if (!entries.Where(e => ReferenceEquals(e.Caller, m)).All(e => IsRelu(e.Op))) continue;
                    var inner = m.named_modules().Select(p => p.Item2).Where(d => !ReferenceEquals(d, m));
                    if (inner.Any(d => callers.Contains(d, ReferenceEqualityComparer.Instance))) continue;
                    reluModules.Add(m);
                }

                // Each convolution module's calls: whether each one's output went only to a ReLU module or an in-place relu_.
                var convCalls = new Dictionary<Conv2d, List<(int Call, int? Relu)>>(ReferenceEqualityComparer.Instance);
                var functionalRelu = new HashSet<Conv2d>(ReferenceEqualityComparer.Instance);
                var unpacked = new List<(string, string)>();
                var foreignCalls = new HashSet<Conv2d>(ReferenceEqualityComparer.Instance);
                for (int i = 0; i < entries.Count; i++)
                {
                    var e = entries[i];
                    if (e.Op != Aten.conv2d.FullName || !convByWeight.TryGetValue(e.InputAt(1), out var conv)) continue;
                    if (!ReferenceEquals(e.Caller, conv.Module))
                    {
                        foreignCalls.Add(conv.Module);
                        continue;
                    }
                    int? relu = null;
                    if (e.Outputs.Length == 1 && e.Outputs[0] != resultImpl
                        && readers.TryGetValue((e.Outputs[0], i), out var r) && r.Count == 1
                        && IsRelu(entries[r[0]].Op) && entries[r[0]].InputAt(0) == e.Outputs[0])
                    {
                        if (entries[r[0]].Caller is { } reluCaller && reluModules.Contains(reluCaller)) relu = r[0];
                        else if (entries[r[0]].Op == Aten.relu_.FullName)
                        {
                            relu = r[0];
                            functionalRelu.Add(conv.Module);
                        }
                    }
                    if (!convCalls.TryGetValue(conv.Module, out var list)) convCalls[conv.Module] = list = new();
                    list.Add((i, relu));
                }

                var fusedRelus = new HashSet<int>(); // relu calls whose input comes from a convolution fused with ReLU
                var withRelu = new HashSet<Conv2d>(ReferenceEqualityComparer.Instance);
                foreach (var (conv, calls) in convCalls)
                {
                    if (foreignCalls.Contains(conv)) continue;
                    if (calls.All(c => c.Relu is not null))
                    {
                        withRelu.Add(conv);
                        foreach (var c in calls) fusedRelus.Add(c.Relu!.Value);
                    }
                }
                // A ReLU module passes its input through only when every call of it follows a fused convolution;
                // otherwise it keeps running (a ReLU of a ReLU's output changes nothing, so the fusion stays exact).
                var skipped = reluModules.Where(m => Enumerable.Range(0, entries.Count)
                    .Where(i => ReferenceEquals(entries[i].Caller, m)).All(fusedRelus.Contains)).ToHashSet(ReferenceEqualityComparer.Instance);

                var kernels = new List<PrepackedConvolution>();
                var fused = new List<(string, string)>();
                var plain = new List<string>();
                var skippedList = new List<Module<Tensor, Tensor>>();
                var packed = new HashSet<Conv2d>(ReferenceEqualityComparer.Instance);
                try
                {
                    foreach (var (name, m) in module.named_modules())
                    {
                        if (m is not Conv2d conv) continue;
                        if (foreignCalls.Contains(conv)) { unpacked.Add((name, "its weight is also used outside its own call")); continue; }
                        if (!convCalls.TryGetValue(conv, out var calls)) { unpacked.Add((name, "not run by the example input")); continue; }
                        if (!packed.Add(conv)) continue; // a module registered under two names
                        bool relu = withRelu.Contains(conv);
                        kernels.Add(new PrepackedConvolution(conv, relu ? "relu" : "none", relu && functionalRelu.Contains(conv)));
                        if (relu)
                        {
                            var activation = entries[calls[0].Relu!.Value].Caller;
                            fused.Add((name, activation is not null && reluModules.Contains(activation) ? names[activation]
                                : $"relu_ in {(activation is null || names[activation].Length == 0 ? "the module's own forward" : names[activation])}"));
                        }
                        else plain.Add(name);
                    }
                    foreach (var m in skipped)
                    {
                        var activation = (Module<Tensor, Tensor>)m!;
                        activation.CallReplacement = input => input.alias();
                        skippedList.Add(activation);
                    }
                }
                catch
                {
                    foreach (var k in kernels) k.Dispose();
                    foreach (var a in skippedList) a.CallReplacement = null;
                    throw;
                }
                return new ConvolutionPrepacking(kernels, skippedList, fused, plain, unpacked);
            }
        }
    }
}
