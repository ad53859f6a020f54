using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests.Networks;

public class FastSegICNetTests : ModelTestBase
{
    protected override string ModelName => "fast_seg/icnet";

    /// <summary>
    /// Training with aux returns Fast_Seg's other three cascade outputs at its resolutions: 1/4, 1/8 and the ceil-mode
    /// 1/16 (5×9 for 64×128). The reference's dropout makes train-mode values random, so only shapes are checked here.
    /// </summary>
    [Fact]
    public void TrainingReturnsTheThreeCoarserCascadeOutputs()
    {
        using var model = ModelZoo.Create("fast_seg/icnet", numClasses: 19, aux: true);
        model.train();
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        using var output = model.ForwardAll(randn(2, 3, 64, 128));
        Assert.Equal(new long[] { 2, 19, 64, 128 }, output.Logits.shape);
        Assert.Equal(3, output.Aux.Count);
        Assert.Equal(new long[] { 2, 19, 16, 32 }, output.Aux[0].shape);
        Assert.Equal(new long[] { 2, 19, 8, 16 }, output.Aux[1].shape);
        Assert.Equal(new long[] { 2, 19, 5, 9 }, output.Aux[2].shape);
    }
}
