using System.Runtime.InteropServices;
using FastSeg.Torch.Interop;

namespace FastSeg.Torch;

/// <summary>Owns one native process group (<c>fs_process_group</c>: the c10d group and the TCP store under it).</summary>
internal sealed class ProcessGroupHandle : SafeHandle
{
    public ProcessGroupHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => NativeMethods.fs_dist_free(handle) == 0;
}

public static partial class torch
{
    public static partial class distributed
    {
        /// <summary>
        /// A group of processes that run collectives together (PyTorch's <c>ProcessGroup</c>). The default group is
        /// made by <see cref="init_process_group"/>; disposing it (or <see cref="destroy_process_group"/>) closes the
        /// connections. Collectives on one group must be called in the same order on every rank.
        /// </summary>
        public sealed class ProcessGroup : IDisposable
        {
            private readonly ProcessGroupHandle _handle;

            internal ProcessGroup(IntPtr handle, string backend, int localRank, TimeSpan timeout)
            {
                _handle = new ProcessGroupHandle(handle);
                Native.Check(NativeMethods.fs_dist_info(handle, out var rank, out var size, out _));
                Rank = rank;
                Size = size;
                Backend = backend;
                LocalRank = localRank;
                Timeout = timeout;
            }

            /// <summary>This process's rank in the group, 0 to <see cref="Size"/> - 1.</summary>
            public int Rank { get; }

            /// <summary>The number of processes in the group.</summary>
            public int Size { get; }

            /// <summary>"gloo" or "nccl".</summary>
            public string Backend { get; }

            /// <summary>The rank of this process among those on its machine (LOCAL_RANK), used to pick its GPU.</summary>
            public int LocalRank { get; }

            /// <summary>How long the rendezvous and each collective may take before they fail.</summary>
            public TimeSpan Timeout { get; }

            /// <summary>Whether the group has been destroyed.</summary>
            public bool IsDisposed => _handle.IsClosed;

            internal IntPtr NativeHandle
            {
                get
                {
                    if (_handle.IsClosed)
                        throw new ObjectDisposedException(nameof(ProcessGroup), "the process group has been destroyed");
                    return _handle.DangerousGetHandle();
                }
            }

            // Keeps the native group alive across a call even if another thread disposes the managed object.
            internal void Run(Func<IntPtr, int> call)
            {
                bool added = false;
                try
                {
                    if (_handle.IsClosed)
                        throw new ObjectDisposedException(nameof(ProcessGroup), "the process group has been destroyed");
                    _handle.DangerousAddRef(ref added);
                    Native.Check(call(_handle.DangerousGetHandle()));
                }
                finally
                {
                    if (added) _handle.DangerousRelease();
                }
            }

            /// <summary>Closes the group's connections (and, on rank 0, the store).</summary>
            public void Dispose() => _handle.Dispose();

            /// <inheritdoc/>
            public override string ToString() =>
                IsDisposed ? "ProcessGroup (destroyed)" : $"ProcessGroup(backend={Backend}, rank={Rank}, size={Size})";
        }
    }
}
