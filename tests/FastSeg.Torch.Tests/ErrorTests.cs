using FastSeg.Torch;
using FastSeg.Torch.Interop;
using Xunit;
using static FastSeg.Torch.torch;
using F = FastSeg.Torch.torch.nn.functional;

namespace FastSeg.Torch.Tests;

/// <summary>
/// libtorch failures surface as <see cref="TorchException"/> carrying libtorch's own message (without the C++
/// backtrace), and the process stays usable afterwards.
/// </summary>
public class ErrorTests
{
    /// <summary>Runs <paramref name="action"/>, expects a TorchException mentioning <paramref name="fragment"/>, then checks a normal op still works.</summary>
    private static TorchException ExpectTorchError(Action action, string fragment)
    {
        var ex = Assert.Throws<TorchException>(action);
        Assert.Contains(fragment, ex.Message);
        Assert.DoesNotContain("Exception raised from", ex.Message);
        Assert.DoesNotContain("frame #", ex.Message);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));

        // The engine keeps working: a following op returns the right value.
        using var a = tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 });
        using var b = tensor(new float[] { 5, 6, 7, 8 }, new long[] { 2, 2 });
        using var c = a.matmul(b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.ToArray<float>());
        return ex;
    }

    [Fact]
    public void Conv2dWithMismatchedChannels()
    {
        using var input = randn(1, 3, 5, 5);
        using var weight = randn(4, 2, 3, 3);
        var ex = ExpectTorchError(() => F.conv2d(input, weight).Dispose(), "expected input[1, 3, 5, 5] to have 2 channels");
        Assert.Contains("but got 3 channels instead", ex.Message);
    }

    [Fact]
    public void ReshapeToAnImpossibleShape()
    {
        using var x = randn(2, 3);
        ExpectTorchError(() => x.reshape(4, 4).Dispose(), "shape '[4, 4]' is invalid for input of size 6");
    }

    [Fact]
    public void UnknownOperatorName()
    {
        var op = new AtenOp("aten::no_such_op");
        var ex = ExpectTorchError(() => _ = op.Handle, "aten::no_such_op");
        Assert.Contains("unknown operator", ex.Message);
        // the failed lookup is not cached: asking again fails again, the same way
        var again = Assert.Throws<TorchException>(() => op.Handle);
        Assert.Equal(ex.Message, again.Message);
    }

    [Fact]
    public void CatOfMismatchedShapes()
    {
        using var a = randn(2, 3);
        using var b = randn(2, 4);
        var ex = ExpectTorchError(() => cat(new[] { a, b }).Dispose(), "Sizes of tensors must match except in dimension 0");
        Assert.Contains("Expected size 3 but got size 4 for tensor number 1", ex.Message);
    }

    [Fact]
    public void BackwardOnATensorThatDoesNotRequireGrad()
    {
        using var x = ones(3);
        using var loss = x.sum();
        ExpectTorchError(() => loss.backward(), "does not require grad and does not have a grad_fn");
    }

    [Fact]
    public void MatmulOfIncompatibleShapes()
    {
        using var a = randn(2, 3);
        using var b = randn(4, 5);
        ExpectTorchError(() => a.matmul(b).Dispose(), "shapes cannot be multiplied (2x3 and 4x5)");
    }

    [Fact]
    public void ErrorsInsideADisposeScopeLeaveTheScopeUsable()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 3);
        int before = scope.DisposablesCount;
        Assert.Throws<TorchException>(() => x.reshape(5));
        Assert.Equal(before, scope.DisposablesCount);
        var y = x.reshape(3, 2);
        Assert.Equal(new long[] { 3, 2 }, y.shape);
        Assert.Equal(before + 1, scope.DisposablesCount);
    }
}
