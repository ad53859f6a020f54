using System.Runtime.InteropServices;

namespace FastSeg.Torch.Interop;

/// <summary>One boxed argument or result of the native bridge (layout of <c>fs_value</c>, 32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FsValue
{
    public ValueKind Kind;
    public int Count;
    public long I;
    public double D;
    public IntPtr Ptr;
}

/// <summary>Kinds of <see cref="FsValue"/> (<c>fs_value_kind</c>).</summary>
internal enum ValueKind : int
{
    None = 0,
    Tensor = 1,
    Int = 2,
    Double = 3,
    Bool = 4,
    IntList = 5,
    DoubleList = 6,
    TensorList = 7,
    String = 8,
    Device = 9,
    Default = 10,
    BoolList = 11,
    Object = 12,
}

/// <summary>Metadata of a tensor (layout of <c>fs_tensor_info</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FsTensorInfo
{
    public int DType;
    public int DeviceType;
    public int DeviceIndex;
    public int NDim;
    public int RequiresGrad;
    public int IsLeaf;
    public int Defined;
    public int Reserved;
    public long Numel;
    public long ElementSize;
}

/// <summary>
/// Every P/Invoke of the native bridge (native/include/fastseg_native.h). Each returns 0 on success and 1 on error;
/// callers pass the status to <see cref="Native.Check(int)"/>, which throws <see cref="TorchException"/>.
/// </summary>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "fastseg_native";

    [LibraryImport(Library)] internal static partial IntPtr fs_last_error();
    [LibraryImport(Library)] internal static partial int fs_version(out IntPtr version);
    [LibraryImport(Library)] internal static partial int fs_set_num_threads(int n);
    [LibraryImport(Library)] internal static partial int fs_get_num_threads(out int n);
    [LibraryImport(Library)] internal static partial int fs_manual_seed(long seed);
    [LibraryImport(Library)] internal static partial int fs_cuda_is_available(out int available);
    [LibraryImport(Library)] internal static partial int fs_cuda_device_count(out int count);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int fs_op_find(string name, string overload, out IntPtr op);
    [LibraryImport(Library)] internal static partial int fs_op_free(IntPtr op);
    [LibraryImport(Library)] internal static partial int fs_op_schema(IntPtr op, out IntPtr schema);
    [LibraryImport(Library)]
    internal static partial int fs_op_call(IntPtr op, FsValue* args, int nargs, FsValue* results, int capacity, out int nresults);

    [LibraryImport(Library)] internal static partial int fs_object_free(IntPtr o);
    [LibraryImport(Library)] internal static partial int fs_object_type_name(IntPtr o, out IntPtr name);

    [LibraryImport(Library)] internal static partial int fs_tensor_free(IntPtr t);
    [LibraryImport(Library)]
    internal static partial int fs_tensor_from_data(void* data, long nbytes, int dtype, long* shape, int ndim, out IntPtr tensor);
    [LibraryImport(Library)] internal static partial int fs_tensor_copy_to(IntPtr t, void* dst, long nbytes);
    [LibraryImport(Library)] internal static partial int fs_tensor_data_ptr(IntPtr t, out IntPtr ptr, out int contiguous);
    [LibraryImport(Library)] internal static partial int fs_tensor_info_get(IntPtr t, out FsTensorInfo info);
    [LibraryImport(Library)] internal static partial int fs_tensor_sizes(IntPtr t, long* output, int capacity, out int ndim);
    [LibraryImport(Library)] internal static partial int fs_tensor_strides(IntPtr t, long* output, int capacity, out int ndim);
    [LibraryImport(Library)] internal static partial int fs_tensor_is_contiguous(IntPtr t, int memoryFormat, out int contiguous);
    [LibraryImport(Library)] internal static partial int fs_tensor_alias(IntPtr t, out IntPtr alias);
    [LibraryImport(Library)] internal static partial int fs_tensor_same(IntPtr a, IntPtr b, out int same);
    [LibraryImport(Library)] internal static partial int fs_tensor_identity(IntPtr t, out long identity);

    [LibraryImport(Library)] internal static partial int fs_tensor_set_requires_grad(IntPtr t, int requiresGrad);
    [LibraryImport(Library)] internal static partial int fs_tensor_grad(IntPtr t, out IntPtr grad);
    [LibraryImport(Library)] internal static partial int fs_tensor_set_grad(IntPtr t, IntPtr grad);
    [LibraryImport(Library)] internal static partial int fs_tensor_set_data(IntPtr t, IntPtr data);
    [LibraryImport(Library)] internal static partial int fs_tensor_backward(IntPtr t, IntPtr gradient, int retainGraph, int createGraph);
    [LibraryImport(Library)] internal static partial int fs_grad_mode(int enabled, out int previous);
    [LibraryImport(Library)] internal static partial int fs_grad_mode_get(out int enabled);
    [LibraryImport(Library)] internal static partial int fs_inference_mode_enter(int enabled, out IntPtr guard);
    [LibraryImport(Library)] internal static partial int fs_inference_mode_exit(IntPtr guard);
    [LibraryImport(Library)] internal static partial int fs_inference_mode_get(out int enabled);

    [LibraryImport(Library)] internal static partial int fs_autocast_get(int deviceType, out int enabled, out int dtype);
    [LibraryImport(Library)] internal static partial int fs_autocast_set(int deviceType, int enabled, int dtype);
    [LibraryImport(Library)] internal static partial int fs_autocast_nesting(int delta, out int depth);
}

/// <summary>Status checking shared by every caller of <see cref="NativeMethods"/>.</summary>
internal static class Native
{
    /// <summary>Throws <see cref="TorchException"/> with the bridge's message when <paramref name="status"/> is an error.</summary>
    [System.Diagnostics.StackTraceHidden]
    internal static void Check(int status)
    {
        if (status != 0) throw new TorchException(LastError());
    }

    internal static string LastError() =>
        Marshal.PtrToStringUTF8(NativeMethods.fs_last_error()) ?? "unknown error in the native bridge";
}
