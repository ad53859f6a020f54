using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests.Networks;

public class STDCTests : ModelTestBase
{
    protected override string ModelName => "stdc";

    [Fact]
    public void AuxAndDetailHeadsTogetherAreRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => ModelZoo.Create("stdc", aux: true, detail: true));
        Assert.Contains("not both", ex.Message);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void BackwardReachesEveryParameterWithOneKindOfHead(bool aux, bool detail)
    {
        using var model = ModelZoo.Create("stdc", aux: aux, detail: detail);
        model.train();
        using var scope = NewDisposeScope();
        manual_seed(0);
        using var output = model.ForwardAll(randn(2, 3, 96, 128));
        var loss = output.Logits.square().mean();
        foreach (var head in output.Aux) loss = loss + head.square().mean();
        if (output.Detail is not null) loss = loss + output.Detail.square().mean();
        loss.backward();
        // detail_conv exists only for the reference's trainer (it filters the label's Laplacian), never in forward.
        var without = model.named_parameters().Where(p => p.parameter.grad is null).Select(p => p.name).ToList();
        Assert.Equal(detail ? new[] { "detail_conv.weight" } : Array.Empty<string>(), without);
        Assert.Equal(aux ? 3 : 0, output.Aux.Count);
        Assert.Equal(detail, output.Detail is not null);
        if (detail) Assert.Equal(new long[] { 2, 1, 12, 16 }, output.Detail!.shape);
    }

    [Fact]
    public void HeadsAreReturnedOnlyInTrainingMode()
    {
        using var model = ModelZoo.Create("stdc", aux: true);
        model.eval();
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        using var output = model.ForwardAll(zeros(1, 3, 64, 64));
        Assert.Empty(output.Aux);
        Assert.Null(output.Detail);
    }
}
