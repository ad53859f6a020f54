using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests.Networks;

public class FastSegBiSeNetTests : ModelTestBase
{
    protected override string ModelName => "fast_seg/bisenet";

    [Fact]
    public void AuxHeadsAddFastSegsTrainingParametersAndLogitsAtOneEighth()
    {
        using var model = ModelZoo.Create(ModelName, aux: true);
        Assert.Equal(13_342_969, model.parameters().Sum(p => p.numel()));
        model.train();
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        using var output = model.ForwardAll(zeros(2, 3, 64, 96));
        Assert.Equal(new long[] { 2, 19, 64, 96 }, output.Logits.shape);
        Assert.Equal(2, output.Aux.Count);
        Assert.All(output.Aux, a => Assert.Equal(new long[] { 2, 19, 8, 12 }, a.shape));
        var ex = Assert.Throws<ArgumentException>(() => model.call(zeros(1, 3, 64, 64)));
        Assert.Contains("batch of at least 2", ex.Message);
    }
}
