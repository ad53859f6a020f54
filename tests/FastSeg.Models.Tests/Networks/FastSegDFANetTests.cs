using FastSeg.Models.Networks;
using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests.Networks;

public class FastSegDFANetTests : ModelTestBase
{
    protected override string ModelName => "fast_seg/dfanet";

    protected override IReadOnlyCollection<string> UnusedParameters => FastSegDFANet.UnusedParameters;

    [Fact]
    public void AuxOutputsAreTheDsnHeadsAtOneQuarterAndOneEighthOnlyInTraining()
    {
        using var model = ModelZoo.Create(ModelName, aux: true);
        Assert.Equal(2_696_089, model.parameters().Sum(p => p.numel())); // the dsn heads exist with or without aux
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        model.train();
        using (var output = model.ForwardAll(zeros(2, 3, 64, 128)))
        {
            Assert.Equal(new long[] { 2, 19, 64, 128 }, output.Logits.shape);
            Assert.Equal(new[] { new long[] { 2, 19, 16, 32 }, new long[] { 2, 19, 8, 16 } }, output.Aux.Select(a => a.shape).ToArray());
        }
        model.eval();
        using (var output = model.ForwardAll(zeros(1, 3, 64, 128))) Assert.Empty(output.Aux);
        model.train();
        var ex = Assert.Throws<ArgumentException>(() => model.call(zeros(1, 3, 64, 64)));
        Assert.Contains("batch of at least 2", ex.Message);
    }
}
