using System.Runtime.InteropServices;

namespace FastSeg.Torch.Interop;

/// <summary>P/Invokes of the distributed part of the native bridge (<c>fs_dist_*</c>, native/src/distributed.cpp).</summary>
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial int fs_dist_backends(out int gloo, out int nccl);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int fs_dist_init(int backend, string masterAddr, int masterPort, int rank, int worldSize,
        long timeoutMs, string glooInterface, string glooHostname, int deviceIndex, int localWorldSize, out IntPtr group);

    [LibraryImport(Library)] internal static partial int fs_dist_free(IntPtr group);
    [LibraryImport(Library)] internal static partial int fs_dist_info(IntPtr group, out int rank, out int size, out int backend);
    [LibraryImport(Library)] internal static partial int fs_dist_all_reduce(IntPtr group, IntPtr* tensors, int count, int op);
    [LibraryImport(Library)] internal static partial int fs_dist_broadcast(IntPtr group, IntPtr* tensors, int count, int root);
    [LibraryImport(Library)] internal static partial int fs_dist_all_gather(IntPtr group, IntPtr input, IntPtr* outputs, int count);
    [LibraryImport(Library)] internal static partial int fs_dist_barrier(IntPtr group);
    [LibraryImport(Library)] internal static partial int fs_dist_all_reduce_autograd(IntPtr group, IntPtr input, out IntPtr output);
    [LibraryImport(Library)]
    internal static partial int fs_dist_hook_backward_end(IntPtr output,
        delegate* unmanaged<long, byte*, int, int> callback, long context);
}
