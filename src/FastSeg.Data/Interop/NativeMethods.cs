using System.Runtime.InteropServices;

namespace FastSeg.Data.Interop;

/// <summary>Layout of <c>fs_image_info</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FsImageInfo
{
    public int Width;
    public int Height;
    public int Channels;
    public int Depth;
    public long NBytes;
    public IntPtr Data;
}

/// <summary>Layout of <c>fs_axis_plan</c>: one axis of the fused resize, pad, crop and flip.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FsAxisPlan
{
    public int Scaled;
    public int PadBefore;
    public int Offset;
    public int Size;
    public int Flip;
    public int Reserved;
}

/// <summary>
/// The image entry points of the native bridge (native/include/fastseg_native.h, section "images"). The library is
/// the same <c>fastseg_native</c> that FastSeg.Torch loads; every call returns 0 or 1 and goes through
/// <see cref="ImageNative.Check(int)"/>.
/// </summary>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "fastseg_native";

    [LibraryImport(Library)] internal static partial IntPtr fs_last_error();

    [LibraryImport(Library)] internal static partial int fs_image_create(int height, int width, int channels, int depth, out IntPtr image);
    [LibraryImport(Library)] internal static partial int fs_image_free(IntPtr image);
    [LibraryImport(Library)] internal static partial int fs_image_info_get(IntPtr image, out FsImageInfo info);
    [LibraryImport(Library)] internal static partial int fs_image_clone(IntPtr image, out IntPtr clone);
    [LibraryImport(Library)] internal static partial int fs_image_set_num_threads(int n);
    [LibraryImport(Library)] internal static partial int fs_image_get_num_threads(out int n);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int fs_image_decode_file(string path, int mode, out IntPtr image);
    [LibraryImport(Library)] internal static partial int fs_image_decode_bytes(void* data, long nbytes, int mode, out IntPtr image);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int fs_image_encode(IntPtr image, string format, int param, out IntPtr buffer, out IntPtr data, out long nbytes);
    [LibraryImport(Library)] internal static partial int fs_buffer_free(IntPtr buffer);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int fs_image_write_file(IntPtr image, string path, int param);

    [LibraryImport(Library)] internal static partial int fs_image_resize(IntPtr image, int width, int height, int interpolation, out IntPtr result);
    [LibraryImport(Library)] internal static partial int fs_image_convert_color(IntPtr image, int code, out IntPtr result);
    [LibraryImport(Library)] internal static partial int fs_image_flip(IntPtr image, int code, out IntPtr result);
    [LibraryImport(Library)] internal static partial int fs_image_crop(IntPtr image, int x, int y, int width, int height, out IntPtr result);
    [LibraryImport(Library)]
    internal static partial int fs_image_pad(IntPtr image, int top, int bottom, int left, int right, int border, double* value, out IntPtr result);
    [LibraryImport(Library)]
    internal static partial int fs_image_warp_axes(IntPtr image, FsAxisPlan* x, FsAxisPlan* y, int interpolation, int border, double* value, out IntPtr result);
    [LibraryImport(Library)] internal static partial int fs_image_adjust(IntPtr image, int kind, double factor);
    [LibraryImport(Library)]
    internal static partial int fs_image_map_labels(IntPtr mask, int* table, int tableLength, out IntPtr result, out long invalidCount,
        int* invalidIds, int capacity, out int invalidIdCount);
    [LibraryImport(Library)]
    internal static partial int fs_image_histogram(IntPtr image, int x, int y, int width, int height, long* counts, int bins);
    [LibraryImport(Library)] internal static partial int fs_image_to_chw_f32(IntPtr image, float* mean, float* invStd, float* dst, long count);
    [LibraryImport(Library)] internal static partial int fs_image_to_i64(IntPtr image, long* dst, long count);
}

/// <summary>Status checking for <see cref="NativeMethods"/>.</summary>
internal static class ImageNative
{
    /// <summary>Throws <see cref="ImageException"/> with the bridge's message when <paramref name="status"/> is an error.</summary>
    [System.Diagnostics.StackTraceHidden]
    internal static void Check(int status)
    {
        if (status != 0) throw new ImageException(LastError());
    }

    internal static string LastError() =>
        Marshal.PtrToStringUTF8(NativeMethods.fs_last_error()) ?? "unknown error in the native bridge";
}
