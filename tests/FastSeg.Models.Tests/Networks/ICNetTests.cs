using System.Text.Json;
using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests.Networks;

public class ICNetTests : ModelTestBase
{
    protected override string ModelName => "icnet";

    /// <summary>
    /// Train-mode parity (logits, both aux outputs, running statistics after one pass) against the reference in
    /// float64 (Fixtures/zoo-f64, made by tools/make_zoo_f64_fixtures.py). In float32 ICNet's train mode is too
    /// ill-conditioned under the deterministic weights for a 1e-4 comparison (see that script).
    /// </summary>
    [Fact]
    public void TrainModeMatchesTheReferenceInFloat64()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "zoo-f64", "icnet-resnet18-aux.json");
        var root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        var shape = root.GetProperty("input").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        using var model = ModelZoo.Create("icnet", "resnet18", 19, aux: true);
        model.to(ScalarType.Float64);
        DeterministicFill.Apply(model);
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        var x = DeterministicFill.Input(shape).to(ScalarType.Float64);
        model.eval();
        ZooFixture.AssertMatches(root.GetProperty("eval"), model.call(x), "float64 eval logits", 1e-7);
        model.train();
        using var output = model.ForwardAll(cat(new[] { x, x.flip(3) }, 0));
        var train = root.GetProperty("train");
        ZooFixture.AssertMatches(train.GetProperty("logits"), output.Logits, "float64 train logits", 1e-7);
        var extras = train.GetProperty("extras").EnumerateArray().ToList();
        Assert.Equal(extras.Count, output.Aux.Count);
        for (int k = 0; k < extras.Count; k++) ZooFixture.AssertMatches(extras[k], output.Aux[k], $"float64 aux output {k}", 1e-7);
        // The reference runs the whole backbone on both the 1/4 and the 1/2 image, so layer3/layer4 statistics move twice.
        double sum = model.named_buffers().Where(b => b.name.EndsWith("running_mean", StringComparison.Ordinal)).Sum(b => b.buffer.sum().item<double>());
        Assert.Equal(root.GetProperty("running_mean_sum").GetDouble(), sum, 1e-9);
        Assert.Equal(2L, model.state_dict()["backbone.layer4.1.bn2.num_batches_tracked"].item<long>());
    }
}
