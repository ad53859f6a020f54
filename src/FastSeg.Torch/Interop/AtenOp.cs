using System.Runtime.InteropServices;

namespace FastSeg.Torch.Interop;

/// <summary>
/// An ATen operator named by its schema (<c>aten::add</c>, overload <c>Tensor</c>). The dispatcher handle is looked up
/// on first use and kept for the life of the process, so each call pays only the boxed dispatch.
/// </summary>
internal sealed class AtenOp
{
    private IntPtr _handle;

    public AtenOp(string name, string overload = "")
    {
        Name = name;
        Overload = overload;
    }

    public string Name { get; }

    public string Overload { get; }

    public string FullName => Overload.Length == 0 ? Name : Name + "." + Overload;

    public IntPtr Handle
    {
        get
        {
            var h = Volatile.Read(ref _handle);
            return h != IntPtr.Zero ? h : Resolve();
        }
    }

    /// <summary>The schema text, e.g. <c>aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor</c>.</summary>
    public string Schema
    {
        get
        {
            Native.Check(NativeMethods.fs_op_schema(Handle, out var text));
            return Marshal.PtrToStringUTF8(text) ?? string.Empty;
        }
    }

    private IntPtr Resolve()
    {
        Native.Check(NativeMethods.fs_op_find(Name, Overload, out var h));
        var previous = Interlocked.CompareExchange(ref _handle, h, IntPtr.Zero);
        if (previous == IntPtr.Zero) return h;
        NativeMethods.fs_op_free(h); // another thread won the race; keep its handle
        return previous;
    }

    public override string ToString() => FullName;
}
