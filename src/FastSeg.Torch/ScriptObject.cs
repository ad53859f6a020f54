using System.Runtime.InteropServices;
using FastSeg.Torch.Interop;

namespace FastSeg.Torch;

/// <summary>Owns one native custom-class object (<c>fs_object</c>); releasing it drops that reference.</summary>
internal sealed class ScriptObjectHandle : SafeHandle
{
    public ScriptObjectHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => NativeMethods.fs_object_free(handle) == 0;
}

/// <summary>
/// A TorchScript custom-class object returned by an operator, such as the <c>ConvOpContext</c> of
/// <see cref="torch.mkldnn_prepacked.conv2d_prepack"/> (weights packed once into oneDNN's layout). It is opaque: it can
/// only be passed back to the operators that take it. It owns one native reference, released by
/// <see cref="Dispose"/> (or, as a last resort, by its finalizer); it never joins a dispose scope, because such objects
/// live as long as the module that made them.
/// </summary>
public sealed class ScriptObject : IDisposable
{
    private readonly ScriptObjectHandle _handle;

    internal ScriptObject(IntPtr handle)
    {
        if (handle == IntPtr.Zero) throw new ArgumentException("null object handle", nameof(handle));
        _handle = new ScriptObjectHandle(handle);
    }

    internal IntPtr NativeHandle
    {
        get
        {
            if (_handle.IsClosed) throw new ObjectDisposedException(nameof(ScriptObject), "the custom-class object has been disposed");
            return _handle.DangerousGetHandle();
        }
    }

    /// <summary>Whether this object has been disposed.</summary>
    public bool IsInvalid => _handle.IsClosed;

    /// <summary>The TorchScript class name, e.g. <c>__torch__.torch.classes.mkldnn.ConvOpContext</c>.</summary>
    public string TypeName
    {
        get
        {
            Native.Check(NativeMethods.fs_object_type_name(NativeHandle, out var name));
            GC.KeepAlive(this);
            return Marshal.PtrToStringUTF8(name) ?? string.Empty;
        }
    }

    /// <summary>Releases the native reference.</summary>
    public void Dispose() => _handle.Dispose();

    /// <inheritdoc />
    public override string ToString() => IsInvalid ? "ScriptObject(disposed)" : $"ScriptObject({TypeName})";
}

public static partial class torch
{
    /// <summary>
    /// libtorch's oneDNN operators with pre-packed weights (<c>mkldnn_prepacked::*</c>, CPU only): the weights are
    /// reordered once into the layout oneDNN's kernel wants, and an activation can be fused into the convolution.
    /// </summary>
    public static class mkldnn_prepacked
    {
        /// <summary>The activations <see cref="conv2d_prepack"/> can fuse in libtorch 1.13 (checked with python3-torch 1.13: every other name is refused).</summary>
        public static IReadOnlyList<string> Conv2dAttributes { get; } = new[] { "none", "relu" };

        /// <summary>
        /// Packs a 2-D convolution: <paramref name="weight"/> (out, in/groups, kH, kW) and <paramref name="bias"/> in
        /// their dtype (float32 or bfloat16), the geometry, the input size the weight layout is chosen for (any
        /// input of the same channel count runs), and the fused activation (<c>"none"</c> or <c>"relu"</c>).
        /// </summary>
        /// <exception cref="TorchException">libtorch refused the arguments (e.g. an unknown attribute).</exception>
        public static ScriptObject conv2d_prepack(Tensor weight, Tensor? bias, long[] stride, long[] padding, long[] dilation,
            long groups, long[] input_size, string attr)
        {
            ArgumentNullException.ThrowIfNull(weight);
            ArgumentNullException.ThrowIfNull(stride);
            ArgumentNullException.ThrowIfNull(padding);
            ArgumentNullException.ThrowIfNull(dilation);
            ArgumentNullException.ThrowIfNull(input_size);
            ArgumentNullException.ThrowIfNull(attr);
            if (input_size.Length != 4)
                throw new ArgumentException($"conv2d_prepack: input_size must be (N, C, H, W), got [{string.Join(", ", input_size)}]", nameof(input_size));
            var c = new OpCall(Aten.mkldnn_conv2d_prepack);
            c.Tensor(weight);
            c.OptionalTensor(bias);
            c.Ints(stride);
            c.Ints(padding);
            c.Ints(dilation);
            c.Int(groups);
            c.Ints(input_size);
            c.String(attr);
            return c.Invoke().SingleObject();
        }

        /// <summary>
        /// Runs a packed convolution on <paramref name="input"/> (N, C, H, W) in the context's dtype; the result is
        /// channels-last. Fastest with a channels-last input.
        /// </summary>
        /// <exception cref="TorchException">The input does not fit the packed weights (channel count, a kernel larger than the padded input).</exception>
        public static Tensor conv2d_run(Tensor input, ScriptObject context)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(context);
            var c = new OpCall(Aten.mkldnn_conv2d_run);
            c.Tensor(input);
            c.Object(context);
            return c.InvokeTensor();
        }
    }
}
