using System.Text.Json;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests;

/// <summary>
/// Every fixture in Fixtures/zoo (one per network variant, made from the reference implementation by
/// tools/make_zoo_fixtures.py): the state-dict layout and parameter count equal the reference's, and with the same
/// deterministic weights and input the logits (and train-mode aux outputs) equal the reference's to 1e-4 (float32
/// fixtures) or 1e-5 (float64 fixtures, for variants too ill-conditioned to compare in float32; see
/// tools/make_zoo_fixtures.py).
/// </summary>
public class ZooParityTests
{
    public static IEnumerable<object[]> Fixtures() => ZooFixture.All();

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void StateDictEqualsTheReference(string id)
    {
        var fixture = ZooFixture.Load(id);
        using var model = fixture.Build();
        var sd = model.state_dict();
        var keys = fixture.Root.GetProperty("keys").EnumerateArray().Select(k => k.GetString()!).ToList();
        var ours = sd.Keys.ToList();
        var missing = keys.Except(ours).Take(10).ToList();
        var extra = ours.Except(keys).Take(10).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"{id}: keys missing here: [{string.Join(", ", missing)}]; keys only here: [{string.Join(", ", extra)}]");
        Assert.Equal(keys, ours); // same order
        var shapes = fixture.Root.GetProperty("shapes").EnumerateArray().Select(s => s.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToList();
        for (int k = 0; k < keys.Count; k++)
            Assert.True(shapes[k].SequenceEqual(sd[keys[k]].shape), $"{id}: {keys[k]} has shape [{string.Join(", ", sd[keys[k]].shape)}], reference [{string.Join(", ", shapes[k])}]");
        var dtypes = fixture.Root.GetProperty("dtypes").EnumerateArray().Select(x => x.GetString()!).ToList();
        Assert.Equal(dtypes, sd.Values.Select(t => t.dtype == ScalarType.Int64 ? "int64" : t.dtype == ScalarType.Float64 ? "float64" : "float32").ToList());
        Assert.Equal(fixture.Root.GetProperty("params").GetInt64(), model.parameters().Sum(p => p.numel()));
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void EvalLogitsEqualTheReference(string id)
    {
        var fixture = ZooFixture.Load(id);
        using var model = fixture.BuildFilled();
        model.eval();
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        var x = fixture.Input();
        var logits = model.call(x);
        ZooFixture.AssertMatches(fixture.Root.GetProperty("eval"), logits, $"{id} eval logits", fixture.Tolerance);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void TrainModeOutputsEqualTheReference(string id)
    {
        var fixture = ZooFixture.Load(id);
        if (!fixture.Root.TryGetProperty("train", out var train)) return; // variant without aux outputs to compare
        using var model = fixture.BuildFilled();
        model.train();
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        var x = fixture.Input();
        var batch = cat(new[] { x, x.flip(3) }, 0);
        var output = model.ForwardAll(batch);
        ZooFixture.AssertMatches(train.GetProperty("logits"), output.Logits, $"{id} train logits", fixture.Tolerance);
        var extras = train.GetProperty("extras").EnumerateArray().ToList();
        var ours = output.Detail is null ? output.Aux.ToList() : new List<Tensor> { output.Detail };
        Assert.Equal(extras.Count, ours.Count);
        for (int k = 0; k < extras.Count; k++) ZooFixture.AssertMatches(extras[k], ours[k], $"{id} train extra output {k}", fixture.Tolerance);
        if (train.TryGetProperty("running_mean_sum", out var expectedSum))
        {
            // Each batch norm saw the batch as often as in the reference (ICNet runs its backbone twice).
            double sum = model.named_buffers().Where(b => b.name.EndsWith("running_mean", StringComparison.Ordinal))
                .Sum(b => b.buffer.sum().to(ScalarType.Float64).item<double>());
            double reference = expectedSum.GetDouble();
            Assert.True(Math.Abs(sum - reference) <= fixture.Tolerance * Math.Max(1, Math.Abs(reference)),
                $"{id}: running means sum to {sum:R} after the train pass, reference {reference:R}");
        }
    }
}
