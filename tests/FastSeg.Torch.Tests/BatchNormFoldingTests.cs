using FastSeg.Torch.Modules;
using Xunit;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Torch.Tests;

/// <summary>
/// A block whose batch norms sit in every position <c>fold_batch_norms</c> must tell apart: directly after a
/// convolution (foldable, also a grouped transposed one and one without bias), after a convolution whose output is
/// also added elsewhere, after a ReLU, after a convolution that is called twice, and after a convolution whose output
/// is modified in place before the batch norm reads it.
/// </summary>
internal sealed class FoldingBlock : Module<Tensor, Tensor>
{
    public readonly Sequential plain = Sequential(Conv2d(3, 8, 3, padding: 1, bias: false), BatchNorm2d(8), ReLU());
    public readonly ConvTranspose2d up = ConvTranspose2d(8, 6, 3, stride: 2, padding: 1, output_padding: 1, groups: 2);
    public readonly BatchNorm2d upBn = BatchNorm2d(6);
    public readonly Conv2d shared = Conv2d(6, 6, 1);
    public readonly BatchNorm2d sharedBn = BatchNorm2d(6);
    public readonly Conv2d reused = Conv2d(6, 6, 3, padding: 1);
    public readonly BatchNorm2d reusedBn = BatchNorm2d(6);
    public readonly BatchNorm2d afterRelu = BatchNorm2d(6);
    public readonly Conv2d inplace = Conv2d(6, 6, 1);
    public readonly BatchNorm2d inplaceBn = BatchNorm2d(6);

    public FoldingBlock() : base(nameof(FoldingBlock)) => RegisterComponents();

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = upBn.call(up.call(plain.call(input)));
        var s = shared.call(x);
        x = sharedBn.call(s) + s;                       // the conv output is read twice: no fold
        x = reusedBn.call(reused.call(x));
        x = reused.call(x);                             // the same conv again, without its batch norm: no fold
        x = afterRelu.call(functional.relu(x));         // not after a convolution: no fold
        var y = inplace.call(x);
        y.mul_(2);                                      // changed before the batch norm reads it: no fold
        return inplaceBn.call(y).MoveToOuterDisposeScope();
    }
}

public class BatchNormFoldingTests
{
    private static void Randomise(Module module)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        manual_seed(7);
        foreach (var (name, t) in module.named_buffers().Concat(module.named_parameters().Select(p => (p.name, (Tensor)p.parameter))))
        {
            if (!is_floating_point(t.dtype)) continue;
            if (name.EndsWith("running_var", StringComparison.Ordinal)) t.copy_(rand(t.shape) + 0.5);
            else if (name.EndsWith("running_mean", StringComparison.Ordinal)) t.copy_(randn(t.shape) * 0.3);
            else t.copy_(randn(t.shape) * 0.4);
        }
    }

    [Fact]
    public void FoldsExactlyTheBatchNormsThatDirectlyFollowAConvolutionAndKeepsTheOutput()
    {
        using var block = new FoldingBlock();
        Randomise(block);
        block.eval();
        using var scope = NewDisposeScope();
        manual_seed(3);
        var x = randn(2, 3, 10, 12);
        Tensor expected;
        using (no_grad()) expected = block.call(x);

        var result = utils.fold_batch_norms(block, randn(1, 3, 4, 4));

        Assert.Equal(new[] { ("plain.0", "plain.1"), ("up", "upBn") }, result.Folded.OrderBy(p => p.Convolution).ToArray());
        Assert.Equal(new[] { "afterRelu", "inplaceBn", "reusedBn", "sharedBn" }, result.Unfolded.Select(u => u.BatchNorm).Order().ToArray());
        Assert.NotNull(block.plain.OfType<Conv2d>().Single().bias); // a bias was added to the conv that had none
        Tensor actual;
        using (no_grad()) actual = block.call(x);
        double error = (actual - expected).abs().max().item<float>();
        double size = expected.abs().max().item<float>();
        Assert.True(error <= 1e-5 * size, $"folded output differs by {error} (largest value {size})");
    }

    [Fact]
    public void RefusesAModuleInTrainingMode()
    {
        using var block = new FoldingBlock();
        using var x = zeros(1, 3, 4, 4);
        var e = Assert.Throws<InvalidOperationException>(() => utils.fold_batch_norms(block, x));
        Assert.Contains("eval", e.Message);
    }
}
