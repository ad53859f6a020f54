namespace FastSeg.Torch.Interop;

/// <summary>Short forms for the common shapes of ATen calls, so typed wrappers stay one line each.</summary>
internal static class Ops
{
    public static torch.Tensor Unary(AtenOp op, torch.Tensor self)
    {
        var c = new OpCall(op);
        c.Tensor(self);
        return c.InvokeTensor();
    }

    public static torch.Tensor Binary(AtenOp op, torch.Tensor self, torch.Tensor other)
    {
        var c = new OpCall(op);
        c.Tensor(self);
        c.Tensor(other);
        return c.InvokeTensor();
    }

    public static torch.Tensor WithScalar(AtenOp op, torch.Tensor self, Scalar other)
    {
        var c = new OpCall(op);
        c.Tensor(self);
        c.Scalar(other);
        return c.InvokeTensor();
    }

    public static torch.Tensor WithInt(AtenOp op, torch.Tensor self, long value)
    {
        var c = new OpCall(op);
        c.Tensor(self);
        c.Int(value);
        return c.InvokeTensor();
    }

    public static torch.Tensor WithInts(AtenOp op, torch.Tensor self, ReadOnlySpan<long> values)
    {
        var c = new OpCall(op);
        c.Tensor(self);
        c.Ints(values);
        return c.InvokeTensor();
    }

    public static torch.Tensor UnaryInPlace(AtenOp op, torch.Tensor self)
    {
        var c = new OpCall(op);
        c.Tensor(self);
        return c.InvokeInPlace(self);
    }

    public static torch.Tensor BinaryInPlace(AtenOp op, torch.Tensor self, torch.Tensor other)
    {
        var c = new OpCall(op);
        c.Tensor(self);
        c.Tensor(other);
        return c.InvokeInPlace(self);
    }

    public static torch.Tensor WithScalarInPlace(AtenOp op, torch.Tensor self, Scalar other)
    {
        var c = new OpCall(op);
        c.Tensor(self);
        c.Scalar(other);
        return c.InvokeInPlace(self);
    }
}
