using System.Runtime.InteropServices;
using FastSeg.Torch.Interop;

namespace FastSeg.Torch;

/// <summary>Owns one native <c>at::Tensor</c> reference; releasing it drops that reference.</summary>
internal sealed class TensorHandle : SafeHandle
{
    public TensorHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => NativeMethods.fs_tensor_free(handle) == 0;
}
