using System.Runtime.InteropServices;

namespace FastSeg.Torch.Interop;

/// <summary>P/Invokes of the TorchScript part of the native bridge (<c>fs_jit_*</c>, native/src/jit.cpp).</summary>
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int fs_jit_trace_save(string className, IntPtr* keys, IntPtr* tensors, int* isBuffer, int count,
        IntPtr input, delegate* unmanaged<long, IntPtr, IntPtr*, byte*, int, int> forward, long context, string path);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int fs_jit_load(string path, out IntPtr module);

    [LibraryImport(Library)] internal static partial int fs_jit_forward(IntPtr module, IntPtr input, out IntPtr output);
    [LibraryImport(Library)] internal static partial int fs_jit_free(IntPtr module);
}
