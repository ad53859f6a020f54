using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests.Networks;

public class FastSegFastSCNNTests : ModelTestBase
{
    protected override string ModelName => "fast_seg/fastscnn";

    /// <summary>
    /// The aux flag builds Fast_Seg's auxlayer (1,176,278 parameters instead of 1,138,051); training returns its
    /// logits at 1/8. Its dropout makes their values random, so only the shape is checked (fixture fast_seg-fastscnn-aux
    /// checks the state dict and the eval logits).
    /// </summary>
    [Fact]
    public void TheAuxFlagBuildsTheAuxiliaryHead()
    {
        using var model = ModelZoo.Create("fast_seg/fastscnn", aux: true);
        Assert.Equal(1_176_278L, model.parameters().Sum(p => p.numel()));
        model.train();
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        using var output = model.ForwardAll(randn(2, 3, 64, 128));
        Assert.Equal(new long[] { 2, 19, 64, 128 }, output.Logits.shape);
        Assert.Single(output.Aux);
        Assert.Equal(new long[] { 2, 19, 8, 16 }, output.Aux[0].shape);
    }
}
