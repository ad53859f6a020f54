using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests;

/// <summary>
/// The checks every registered network must pass. A network's own test class only names it:
/// <c>public class LinkNetTests : ModelTestBase { protected override string ModelName => "linknet"; }</c>.
/// </summary>
public abstract class ModelTestBase
{
    /// <summary>The registry name under test.</summary>
    protected abstract string ModelName { get; }

    /// <summary>The encoder/variant under test (null = default).</summary>
    protected virtual string? Encoder => null;

    /// <summary>
    /// Parameters the reference keeps in its state dict but never uses in forward (e.g. a backbone's ImageNet classifier),
    /// so no gradient reaches them; the backward check skips them (and checks that they exist).
    /// </summary>
    protected virtual IReadOnlyCollection<string> UnusedParameters => Array.Empty<string>();

    private ModelInfo Info => ModelZoo.Describe(ModelName);

    private SegmentationModel Create(bool heads = false) =>
        ModelZoo.Create(ModelName, Encoder, numClasses: 19, aux: heads && Info.SupportsAux,
            detail: heads && Info.SupportsDetail && !Info.SupportsAux); // STDC takes aux or detail, not both

    private static long RoundUp(long v, long m) => (v + m - 1) / m * m;

    private void AssertLogitsShape(long height, long width)
    {
        using var model = Create();
        model.eval();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var logits = model.call(zeros(1, 3, height, width));
        Assert.Equal(new[] { 1L, 19, height, width }, logits.shape);
        Assert.False(logits.isnan().any().item<bool>(), "logits contain NaN");
    }

    [Fact]
    public void OutputHasInputResolutionAt512x1024() => AssertLogitsShape(512, 1024);

    [Fact]
    public void OutputHasInputResolutionAtASecondSize()
    {
        long m = Info.InputMultiple;
        AssertLogitsShape(RoundUp(200, m), RoundUp(328, m));
    }

    [Fact]
    public void ParameterCountEqualsTheReference()
    {
        if (Encoder is not null && Encoder != Info.DefaultEncoder) return; // the reference figure is for the default
        using var model = Create();
        Assert.Equal(Info.ReferenceParameters, model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void BackwardReachesEveryParameter()
    {
        using var model = Create(heads: true);
        model.train();
        long m = Math.Max(Info.InputMultiple, 32);
        using var scope = NewDisposeScope();
        manual_seed(0);
        var x = randn(2, 3, RoundUp(96, m), RoundUp(128, m));
        using var output = model.ForwardAll(x);
        var loss = output.Logits.square().mean();
        foreach (var aux in output.Aux) loss = loss + aux.square().mean();
        if (output.Detail is not null) loss = loss + output.Detail.square().mean();
        loss.backward();
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        foreach (var unused in UnusedParameters) Assert.True(names.Contains(unused), $"no parameter '{unused}'");
        var without = model.named_parameters().Where(p => p.parameter.grad is null && !UnusedParameters.Contains(p.name)).Select(p => p.name).ToList();
        Assert.True(without.Count == 0, $"no gradient reached: {string.Join(", ", without.Take(20))}");
        if (Info.SupportsAux) Assert.NotEmpty(output.Aux);
    }

    [Fact]
    public void EvalIsDeterministicAndTrainUpdatesRunningStatistics()
    {
        using var model = Create();
        long m = Math.Max(Info.InputMultiple, 32);
        using var scope = NewDisposeScope();
        manual_seed(1);
        var x = randn(2, 3, RoundUp(64, m), RoundUp(96, m));
        var stats = model.named_buffers().FirstOrDefault(b => b.name.EndsWith("running_mean", StringComparison.Ordinal)).buffer;
        var before = stats?.clone();
        model.eval();
        using (no_grad())
        {
            var a = model.call(x);
            var b = model.call(x);
            Assert.True(a.equal(b), "two eval passes differ");
            if (stats is not null) Assert.True(stats.equal(before!), "eval changed running statistics");
            model.train();
            model.call(x);
        }
        if (stats is not null) Assert.False(stats.equal(before!), "a training pass left the running statistics unchanged");
        Assert.True(model.training);
    }

    [Fact]
    public void BadInputGivesAClearError()
    {
        using var model = Create();
        model.eval();
        using var scope = NewDisposeScope();
        var wrongChannels = Assert.Throws<ArgumentException>(() => model.call(zeros(1, 1, 64, 64)));
        Assert.Contains("(N, 3, H, W)", wrongChannels.Message);
        long m = model.InputMultiple;
        if (m > 1)
        {
            var ex = Assert.Throws<ArgumentException>(() => model.call(zeros(1, 3, m * 2 + 1, m * 2)));
            Assert.Contains($"multiples of {m}", ex.Message);
        }
    }

    [Fact]
    public void StateDictRoundTripsThroughAPthFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"fastseg-{ModelName.Replace('/', '-')}-{Guid.NewGuid():N}.pth");
        try
        {
            using var source = Create();
            using (no_grad())
                foreach (var p in source.parameters()) p.normal_(0, 0.02); // values unlike a fresh initialisation
            source.SaveWeights(path);
            var builder = ModelZoo.Model(ModelName).WithWeights(path);
            if (Encoder is not null) builder.WithEncoder(Encoder);
            using var copy = builder.Build();
            var a = source.state_dict();
            var b = copy.state_dict();
            Assert.Equal(a.Keys, b.Keys);
            foreach (var (key, value) in a) Assert.True(value.equal(b[key]), $"{key} differs after the round trip");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void DescribeMatchesTheRegistration()
    {
        var info = Info;
        Assert.Equal(ModelName, info.Name);
        Assert.False(string.IsNullOrWhiteSpace(info.Paper));
        if (Encoder is not null) Assert.Contains(Encoder, info.Encoders);
    }
}

/// <summary>Registry-wide checks.</summary>
public class ModelZooTests
{
    [Fact]
    public void EveryRegisteredNetworkHasATestClass()
    {
        var tested = typeof(ModelZooTests).Assembly.GetTypes()
            .Where(t => typeof(ModelTestBase).IsAssignableFrom(t) && !t.IsAbstract)
            .Select(t => (string)t.GetProperty("ModelName", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!
                .GetValue(Activator.CreateInstance(t))!)
            .ToHashSet();
        var untested = ModelZoo.Names.Where(n => !tested.Contains(n)).ToList();
        Assert.True(untested.Count == 0, "networks without a test class: " + string.Join(", ", untested));
    }

    [Fact]
    public void UnknownNamesAndOptionsListTheValidChoices()
    {
        var unknown = Assert.Throws<ArgumentException>(() => ModelZoo.Create("no-such-net"));
        Assert.Contains("linknet", unknown.Message);
        var encoder = Assert.Throws<ArgumentException>(() => ModelZoo.Create("linknet", encoder: "vgg16"));
        Assert.Contains("resnet18, resnet34", encoder.Message);
        var aux = Assert.Throws<ArgumentException>(() => ModelZoo.Create("linknet", aux: true));
        Assert.Contains("no auxiliary heads", aux.Message);
        var option = Assert.Throws<ArgumentException>(() => ModelZoo.Create("linknet", options: new Dictionary<string, string> { ["x"] = "1" }));
        Assert.Contains("no option 'x'", option.Message);
    }

    [Fact]
    public void TheFluentBuilderAppliesEveryChoice()
    {
        using var model = ModelZoo.Model("linknet").WithEncoder("resnet34").WithClasses(5).Build();
        Assert.Equal(5, model.NumClasses);
        Assert.Equal("resnet34", model.Options!.Encoder);
        Assert.Equal("linknet", model.Info!.Name);
    }
}
