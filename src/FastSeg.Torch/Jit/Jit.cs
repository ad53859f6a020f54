using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;
using FastSeg.Torch.Interop;

namespace FastSeg.Torch;

public static partial class torch
{
    /// <summary>TorchScript, as in <c>torch.jit</c>: modules traced by libtorch's own tracer, saved and loaded.</summary>
    public static class jit
    {
        private static readonly ConcurrentDictionary<long, PendingTrace> s_traces = new();
        private static long s_nextTrace;

        private sealed class PendingTrace(nn.Module<Tensor, Tensor> module)
        {
            public nn.Module<Tensor, Tensor> Module { get; } = module;
            public ExceptionDispatchInfo? Error { get; set; }
        }

        /// <summary>
        /// Traces one forward pass of <paramref name="module"/> on <paramref name="example"/> with libtorch's tracer
        /// (<c>torch.jit.trace</c>) and saves the result as a TorchScript file that <c>torch.jit.load</c> reads, in
        /// Python or C++. The module's state-dict tensors are the script module's parameters and buffers under the
        /// same keys; any other tensor the forward uses is stored as a constant. As with any trace, control flow and
        /// sizes are those of this one pass. The file is written only when tracing and saving succeed.
        /// </summary>
        /// <param name="module">The module to trace.</param>
        /// <param name="example">The input of the traced pass.</param>
        /// <param name="path">The file to write; its folder must exist.</param>
        /// <param name="state">
        /// The module whose state dict names the stored tensors; default <paramref name="module"/>. A wrapper that
        /// runs an inner network passes that network, so the keys are the network's own.
        /// </param>
        /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist.</exception>
        /// <exception cref="TorchException">libtorch's tracer or serializer failed.</exception>
        public static unsafe void save_traced(nn.Module<Tensor, Tensor> module, Tensor example, string path, nn.Module? state = null)
        {
            ArgumentNullException.ThrowIfNull(module);
            ArgumentNullException.ThrowIfNull(example);
            ArgumentException.ThrowIfNullOrWhiteSpace(path);
            var full = Path.GetFullPath(path);
            var folder = Path.GetDirectoryName(full)!;
            if (!Directory.Exists(folder))
                throw new DirectoryNotFoundException($"cannot write the TorchScript file '{path}': the folder '{folder}' does not exist");

            state ??= module;
            var tensors = state.state_dict().ToList();
            var keys = new IntPtr[tensors.Count];
            var handles = new IntPtr[tensors.Count];
            var isBuffer = new int[tensors.Count];
            var parameters = new HashSet<Tensor>(state.parameters(), ReferenceEqualityComparer.Instance);
            long id = Interlocked.Increment(ref s_nextTrace);
            var pending = new PendingTrace(module);
            // Saved beside the target and moved over it, so a failure never leaves a partial file under the name.
            var temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
            try
            {
                for (int k = 0; k < tensors.Count; k++)
                {
                    keys[k] = Marshal.StringToCoTaskMemUTF8(tensors[k].Key);
                    handles[k] = tensors[k].Value.NativeHandle;
                    isBuffer[k] = parameters.Contains(tensors[k].Value) ? 0 : 1;
                }
                s_traces[id] = pending;
                int status;
                fixed (IntPtr* k = keys)
                fixed (IntPtr* t = handles)
                fixed (int* b = isBuffer)
                {
                    status = NativeMethods.fs_jit_trace_save(ClassName(module.GetName()), k, t, b, tensors.Count,
                        example.NativeHandle, &TracedForward, id, temporary);
                }
                pending.Error?.Throw();
                Native.Check(status);
                File.Move(temporary, full, overwrite: true);
            }
            finally
            {
                s_traces.TryRemove(id, out _);
                foreach (var k in keys) if (k != IntPtr.Zero) Marshal.FreeCoTaskMem(k);
                if (File.Exists(temporary)) File.Delete(temporary);
                GC.KeepAlive(example);
                GC.KeepAlive(tensors);
            }
        }

        // A TorchScript class name: letters, digits and underscores, not starting with a digit.
        private static string ClassName(string name)
        {
            var s = new StringBuilder();
            foreach (var c in name) s.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
            if (s.Length == 0 || char.IsAsciiDigit(s[0])) s.Insert(0, '_');
            return s.ToString();
        }

        // Runs inside libtorch's tracer on the calling thread: the module's forward through the usual dispatch path.
        [UnmanagedCallersOnly]
        private static unsafe int TracedForward(long id, IntPtr input, IntPtr* output, byte* message, int capacity)
        {
            PendingTrace? pending = null;
            try
            {
                if (!s_traces.TryGetValue(id, out pending)) throw new InvalidOperationException("no trace is pending for this forward pass");
                using var scope = NewDisposeScope();
                var x = new Tensor(input);
                var y = pending.Module.call(x);
                Native.Check(NativeMethods.fs_tensor_alias(y.NativeHandle, out var alias));
                *output = alias;
                return 0;
            }
            catch (Exception e)
            {
                if (pending is not null) pending.Error = ExceptionDispatchInfo.Capture(e);
                var bytes = Encoding.UTF8.GetBytes(e.Message);
                int n = Math.Min(bytes.Length, capacity - 1);
                if (n > 0) new ReadOnlySpan<byte>(bytes, 0, n).CopyTo(new Span<byte>(message, capacity));
                message[Math.Max(n, 0)] = 0;
                return 1;
            }
        }

        /// <summary>Loads a TorchScript file (<c>torch.jit.load</c>) in eval mode.</summary>
        /// <exception cref="FileNotFoundException">There is no such file.</exception>
        /// <exception cref="TorchException">libtorch cannot read it.</exception>
        public static ScriptModule load(string path)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(path);
            if (!File.Exists(path)) throw new FileNotFoundException($"no TorchScript file at '{path}'", path);
            Native.Check(NativeMethods.fs_jit_load(Path.GetFullPath(path), out var handle));
            return new ScriptModule(handle, path);
        }

        /// <summary>A loaded TorchScript module with a one-tensor forward; disposing it releases the native module.</summary>
        public sealed class ScriptModule : nn.Module<Tensor, Tensor>
        {
            private IntPtr _handle;

            internal ScriptModule(IntPtr handle, string path) : base(nameof(ScriptModule))
            {
                _handle = handle;
                Path = path;
            }

            /// <summary>The file it was loaded from.</summary>
            public string Path { get; }

            /// <summary>Runs the script module's <c>forward</c>.</summary>
            public override Tensor forward(Tensor input)
            {
                ArgumentNullException.ThrowIfNull(input);
                ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);
                Native.Check(NativeMethods.fs_jit_forward(_handle, input.NativeHandle, out var output));
                GC.KeepAlive(input);
                return new Tensor(output);
            }

            /// <inheritdoc />
            protected override void Dispose(bool disposing)
            {
                if (_handle != IntPtr.Zero)
                {
                    NativeMethods.fs_jit_free(_handle);
                    _handle = IntPtr.Zero;
                }
                base.Dispose(disposing);
            }
        }
    }
}
