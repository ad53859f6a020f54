using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests.Networks;

public class FastSegSwiftNetTests : ModelTestBase
{
    protected override string ModelName => "fast_seg/swiftnet";

    /// <summary>
    /// Training with aux returns the dsn logits at 1/16 (4×6 for 64×96), as Fast_Seg does; its dropout makes their
    /// values random, so only the shape is checked (the fixture fast_seg-swiftnet-train checks the train-mode logits).
    /// </summary>
    [Fact]
    public void TrainingWithAuxReturnsTheDsnLogits()
    {
        using var model = ModelZoo.Create("fast_seg/swiftnet", aux: true);
        model.train();
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        using var output = model.ForwardAll(randn(2, 3, 64, 96));
        Assert.Equal(new long[] { 2, 19, 64, 96 }, output.Logits.shape);
        Assert.Single(output.Aux);
        Assert.Equal(new long[] { 2, 19, 4, 6 }, output.Aux[0].shape);
    }

    [Fact]
    public void TheDecoderNeedsAtLeastThreeClasses()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ModelZoo.Create("fast_seg/swiftnet", numClasses: 2));
        Assert.Contains("at least 3 classes", ex.Message);
    }
}
