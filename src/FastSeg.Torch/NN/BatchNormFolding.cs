using FastSeg.Torch.Interop;
using FastSeg.Torch.Modules;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>What <see cref="utils.fold_batch_norms"/> did.</summary>
        /// <param name="Folded">Each folded pair: the convolution's and the batch norm's dotted names.</param>
        /// <param name="Unfolded">Each batch norm left as it was, with the reason.</param>
        public sealed record BatchNormFolding(
            IReadOnlyList<(string Convolution, string BatchNorm)> Folded,
            IReadOnlyList<(string BatchNorm, string Reason)> Unfolded);

        /// <summary>Transforms of whole modules.</summary>
        public static partial class utils
        {
            private static readonly HashSet<string> ConvolutionOps = new(StringComparer.Ordinal)
            {
                Aten.conv2d.FullName, Aten.conv2d_padding.FullName, Aten.conv_transpose2d.FullName,
            };

            /// <summary>
            /// Folds every evaluation-mode <see cref="Modules.BatchNorm2d"/> whose input is the output of a
            /// <see cref="Modules.Conv2d"/> or <see cref="Modules.ConvTranspose2d"/>, and nothing else's, into that convolution: the
            /// convolution's weight is scaled by γ/√(σ² + ε) per output channel, its bias becomes
            /// (b − μ)·γ/√(σ² + ε) + β, and the batch norm, when called, returns its input. The pairs are found in a
            /// recorded forward pass of <paramref name="example"/>, so they need no particular module layout: a pair
            /// is folded only when the batch norm's operator read the convolution's output directly, no other
            /// operator read or modified that output, and each module was called only in that pairing. Batch norms
            /// that do not qualify (after a pooling, a sum, an activation; shared; not reached by the example) stay as
            /// they are. The module is changed in place; its state dict then holds the folded weights.
            /// </summary>
            /// <param name="module">A module in evaluation mode.</param>
            /// <param name="example">An input the module accepts (small is enough: only the operator graph matters).</param>
            /// <exception cref="InvalidOperationException">The module is in training mode.</exception>
            public static BatchNormFolding fold_batch_norms(Module<Tensor, Tensor> module, Tensor example)
            {
                ArgumentNullException.ThrowIfNull(module);
                ArgumentNullException.ThrowIfNull(example);
                if (module.training)
                    throw new InvalidOperationException($"{module.Name}: batch norms fold only in evaluation mode (call eval() first)");

                var convolutions = new Dictionary<IntPtr, (string Name, Module Module)>();
                var norms = new List<(string Name, BatchNorm2d Module)>();
                foreach (var (name, m) in module.named_modules())
                {
                    if (m is Conv2d conv) convolutions[OpTrace.ImplOf(conv.weight)] = (name, conv);
                    else if (m is ConvTranspose2d deconv) convolutions[OpTrace.ImplOf(deconv.weight)] = (name, deconv);
                    else if (m is BatchNorm2d bn) norms.Add((name, bn));
                }

                using var trace = OpTrace.Start();
                IntPtr resultImpl;
                using (var scope = NewDisposeScope())
                using (no_grad())
                {
                    var output = module.call(example);
                    resultImpl = OpTrace.ImplOf(output);
                }
                var plan = PlanFolds(trace.Entries, convolutions, norms, resultImpl);
                trace.Dispose();

                using (no_grad())
                {
                    foreach (var (conv, bn) in plan.Pairs) Fold(conv, bn);
                }
                return new BatchNormFolding(
                    plan.Pairs.Select(p => (p.Conv.Name, p.Norm.Name)).ToList(), plan.Unfolded);
            }

            private sealed record FoldPlan(
                List<((string Name, Module Module) Conv, (string Name, BatchNorm2d Module) Norm)> Pairs,
                List<(string, string)> Unfolded);

            private static FoldPlan PlanFolds(IReadOnlyList<OpTrace.Entry> entries, Dictionary<IntPtr, (string Name, Module Module)> convolutions,
                List<(string Name, BatchNorm2d Module)> norms, IntPtr resultImpl)
            {
                // Who wrote each tensor last, and which calls read each written value (an in-place call both reads and
                // writes, so it counts as a reader of the value before it).
                var writer = new Dictionary<IntPtr, int>();
                var readers = new Dictionary<(IntPtr, int), List<int>>();
                var users = new Dictionary<IntPtr, List<int>>(); // every call that takes a tensor as an argument
                for (int i = 0; i < entries.Count; i++)
                {
                    foreach (var (_, impl) in entries[i].Inputs)
                    {
                        if (!users.TryGetValue(impl, out var u)) users[impl] = u = new List<int>();
                        if (u.Count == 0 || u[^1] != i) u.Add(i);
                        if (writer.TryGetValue(impl, out int w))
                        {
                            if (!readers.TryGetValue((impl, w), out var r)) readers[(impl, w)] = r = new List<int>();
                            if (r.Count == 0 || r[^1] != i) r.Add(i);
                        }
                    }
                    foreach (var impl in entries[i].Outputs) writer[impl] = i;
                }
                // The convolution call that produced each batch norm call's input, when the pairing is clean.
                var pairs = new List<((string, Module), (string, BatchNorm2d))>();
                var unfolded = new List<(string, string)>();
                var candidates = new List<((string Name, Module Module) Conv, (string Name, BatchNorm2d Module) Norm)>();
                foreach (var norm in norms)
                {
                    var bn = norm.Module;
                    if (bn.running_mean is null || bn.running_var is null)
                    {
                        unfolded.Add((norm.Name, "no running statistics"));
                        continue;
                    }
                    var own = new[] { bn.weight, bn.bias, bn.running_mean, bn.running_var }
                        .Where(t => t is not null).Select(t => OpTrace.ImplOf(t!)).ToHashSet();
                    var calls = own.SelectMany(t => users.TryGetValue(t, out var u) ? u : new List<int>()).Distinct().ToList();
                    if (calls.Count == 0)
                    {
                        unfolded.Add((norm.Name, "not run by the example input"));
                        continue;
                    }
                    (string Name, Module Module)? partner = null;
                    string? reason = null;
                    foreach (int call in calls)
                    {
                        var e = entries[call];
                        if (e.Op != Aten.batch_norm.FullName || !ReferenceEquals(e.Caller, bn) || e.InputAt(3) != OpTrace.ImplOf(bn.running_mean))
                        {
                            reason = $"its statistics are read by {e.Op} outside its own call";
                            break;
                        }
                        IntPtr x = e.InputAt(0);
                        if (!writer.TryGetValue(x, out int w) || w > call || !ConvolutionOps.Contains(entries[w].Op))
                        {
                            reason = "its input is not a convolution's output";
                            break;
                        }
                        var producer = entries[w];
                        if (!convolutions.TryGetValue(producer.InputAt(1), out var conv) || !ReferenceEquals(producer.Caller, conv.Module))
                        {
                            reason = "its input comes from a convolution that is not a module's own call";
                            break;
                        }
                        if (readers[(x, w)].Count != 1 || x == resultImpl)
                        {
                            reason = $"the output of {conv.Name} is also used elsewhere";
                            break;
                        }
                        if (partner is { } p && !ReferenceEquals(p.Module, conv.Module))
                        {
                            reason = "it follows different convolutions";
                            break;
                        }
                        partner = conv;
                    }
                    if (reason is not null || partner is null)
                    {
                        unfolded.Add((norm.Name, reason ?? "not run by the example input"));
                        continue;
                    }
                    candidates.Add((partner.Value, norm));
                }
                // A convolution folds only when every call of it feeds the one batch norm (a module called twice, once
                // before a batch norm and once elsewhere, must keep its own weights).
                foreach (var c in candidates)
                {
                    var conv = c.Conv.Module;
                    IntPtr weight = OpTrace.ImplOf(ConvWeight(conv));
                    IntPtr? bias = ConvBias(conv) is { } b ? OpTrace.ImplOf(b) : (IntPtr?)null;
                    bool clean = candidates.Count(o => ReferenceEquals(o.Conv.Module, conv)) == 1;
                    if (clean)
                    {
                        foreach (int call in users[weight].Concat(bias is { } bi && users.TryGetValue(bi, out var bu) ? bu : new List<int>()))
                        {
                            var e = entries[call];
                            bool feedsNorm = ConvolutionOps.Contains(e.Op) && ReferenceEquals(e.Caller, conv) && e.Outputs.Length == 1
                                && readers.TryGetValue((e.Outputs[0], call), out var r) && r.Count == 1
                                && entries[r[0]].Op == Aten.batch_norm.FullName && ReferenceEquals(entries[r[0]].Caller, c.Norm.Module);
                            if (!feedsNorm) { clean = false; break; }
                        }
                    }
                    if (clean) pairs.Add(c);
                    else unfolded.Add((c.Norm.Name, $"{c.Conv.Name} is also used elsewhere"));
                }
                return new FoldPlan(pairs, unfolded);
            }

            private static Tensor ConvWeight(Module conv) => conv is Conv2d c ? c.weight : ((ConvTranspose2d)conv).weight;

            private static Tensor? ConvBias(Module conv) => conv is Conv2d c ? c.bias : ((ConvTranspose2d)conv).bias;

            private static void Fold((string Name, Module Module) conv, (string Name, BatchNorm2d Module) norm)
            {
                using var scope = NewDisposeScope();
                var bn = norm.Module;
                var weight = ConvWeight(conv.Module);
                var bias = ConvBias(conv.Module);
                // In float64, so the folded fp32 weights carry one rounding, not several.
                var variance = bn.running_var!.to(ScalarType.Float64);
                var mean = bn.running_mean!.to(ScalarType.Float64);
                var scale = (variance + bn.eps).rsqrt();
                if (bn.weight is not null) scale = scale * bn.weight.to(ScalarType.Float64);
                var shift = bn.bias is not null ? bn.bias.to(ScalarType.Float64) - mean * scale : -mean * scale;
                var w64 = weight.to(ScalarType.Float64);
                Tensor scaled;
                if (conv.Module is ConvTranspose2d deconv)
                {
                    // Weight (in, out / groups, kH, kW): output channel g · (out / groups) + j is [g-th block of inputs, j].
                    var s = w64.shape;
                    long g = deconv.groups;
                    scaled = (w64.view(g, s[0] / g, s[1], s[2], s[3]) * scale.view(g, 1, s[1], 1, 1)).view(s);
                }
                else
                {
                    scaled = w64 * scale.view(-1, 1, 1, 1);
                }
                weight.copy_(scaled);
                var newBias = (bias is not null ? bias.to(ScalarType.Float64) * scale + shift : shift).to(weight.dtype);
                if (bias is not null) bias.copy_(newBias);
                else conv.Module.register_parameter("bias", new Parameter(newBias, weight.requires_grad));
                bn.CallReplacement = input => input.alias();
            }
        }
    }
}
