using System.Runtime.InteropServices;

namespace FastSeg.Torch.Interop;

/// <summary>
/// Per-thread unmanaged scratch memory for the variable-length parts of boxed arguments (int lists, tensor-pointer
/// arrays, strings). It is a stack: a call marks it, allocates, and resets to its mark when done, so calls that are
/// built while another is being built (an argument computed by another op) nest safely. Nothing here is ever moved
/// by the GC, so no pinning is needed while the native call runs.
/// </summary>
internal static unsafe class ArgArena
{
    private const int Capacity = 256 * 1024;

    [ThreadStatic] private static byte* t_base;
    [ThreadStatic] private static int t_used;

    public static int Mark => t_used;

    /// <summary>Returns 8-byte aligned memory, or null when the arena is full (the caller then allocates on its own).</summary>
    public static void* TryAlloc(int bytes)
    {
        if (t_base == null) t_base = (byte*)NativeMemory.AlignedAlloc(Capacity, 16);
        int aligned = (bytes + 7) & ~7;
        if (t_used + aligned > Capacity) return null;
        void* p = t_base + t_used;
        t_used += aligned;
        return p;
    }

    public static void Reset(int mark) => t_used = mark;
}
