using System.Text.Json;
using FastSeg.Torch.Modules;
using FastSeg.Torch.Profiling;
using Xunit;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Torch.Tests;

/// <summary>The C# twin of the network in tools/make_module_fixtures.py.</summary>
internal sealed class FixtureBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly PReLU act;
    private readonly Tensor scale = ones(1);

    public FixtureBlock(long cin, long cout) : base("Block")
    {
        conv1 = Conv2d(cin, cout, 3, padding: 1, bias: false);
        bn1 = BatchNorm2d(cout);
        act = PReLU(cout);
        RegisterComponents();
        register_buffer("cache", zeros(1), persistent: false);
    }

    public override Tensor forward(Tensor input)
    {
        using var y = conv1.call(input);
        using var z = bn1.call(y);
        using var a = act.call(z);
        return a * scale;
    }
}

internal sealed class FixtureNet : Module<Tensor, Tensor>
{
    private readonly Sequential stem = Sequential(Conv2d(3, 8, 3, stride: 2, padding: 1), BatchNorm2d(8), ReLU());
    private readonly ModuleList<FixtureBlock> layers = ModuleList(new FixtureBlock(8, 8), new FixtureBlock(8, 16));
    private readonly ModuleDict<Conv2d> heads = ModuleDict(("seg", Conv2d(16, 5, 1)), ("aux", Conv2d(16, 5, new long[] { 1, 3 }, padding: new long[] { 0, 1 })));
    private readonly ConvTranspose2d up = ConvTranspose2d(5, 5, 4, stride: 2, padding: 1, groups: 5, bias: false);
    private readonly BatchNorm2d norm = BatchNorm2d(5, affine: false);
    private readonly Linear fc = Linear(5, 3, hasBias: false);

    public FixtureNet() : base("Net") => RegisterComponents();

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = stem.call(input);
        foreach (var block in layers) x = block.call(x);
        x = heads["seg"].call(x) + heads["aux"].call(x);
        x = norm.call(up.call(x));
        return fc.call(x.mean(new long[] { 2, 3 })).MoveToOuterDisposeScope();
    }
}

public class ModuleTests
{
    private static List<string> Strings(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToList();

    private static Dictionary<string, Tensor> FixtureWeights()
    {
        var w = Fixture.Case("modules.json", "weights");
        return w.EnumerateObject().ToDictionary(p => p.Name, p => Fixture.ToTensor(p.Value));
    }

    [Fact]
    public void StateDictLayoutEqualsPyTorchs()
    {
        using var net = new FixtureNet();
        var layout = Fixture.Case("modules.json", "layout");
        var sd = net.state_dict();
        Assert.Equal(Strings(layout.GetProperty("keys")), sd.Keys.ToList());
        var shapes = layout.GetProperty("shapes").EnumerateArray().Select(s => s.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToList();
        Assert.Equal(shapes, sd.Values.Select(t => t.shape).ToList());
        var dtypes = Strings(layout.GetProperty("dtypes")).Select(Fixture.ParseDType).ToList();
        Assert.Equal(dtypes, sd.Values.Select(t => t.dtype).ToList());
        Assert.Equal(Strings(layout.GetProperty("parameters")), net.named_parameters().Select(p => p.name).ToList());
        Assert.Equal(Strings(layout.GetProperty("buffers")), net.named_buffers().Select(p => p.name).ToList());
        Assert.Equal(Strings(layout.GetProperty("modules")), net.named_modules().Select(p => p.name).ToList());
    }

    [Fact]
    public void LoadedWeightsGiveTheSameOutputsAsPyTorchInEvalAndTrainMode()
    {
        using var net = new FixtureNet();
        var weights = FixtureWeights();
        var (missing, unexpected) = net.load_state_dict(weights);
        Assert.Empty(missing);
        Assert.Empty(unexpected);
        var io = Fixture.Case("modules.json", "io");
        using var x = io.Tensor("input");
        using var expectedEval = io.Tensor("eval_output");
        using var expectedTrain = io.Tensor("train_output");
        net.eval();
        using (no_grad())
        using (var y = net.call(x))
            TensorAssert.Close(expectedEval, y, 1e-4, 1e-5, "eval output");
        net.train();
        using (var y = net.call(x))
            TensorAssert.Close(expectedTrain, y, 1e-4, 1e-5, "train output");
        var after = Fixture.Case("modules.json", "after_train");
        var sd = net.state_dict();
        foreach (var p in after.EnumerateObject())
        {
            using var expected = Fixture.ToTensor(p.Value);
            TensorAssert.Close(expected, sd[p.Name], 1e-5, 1e-6, p.Name);
        }
        foreach (var t in weights.Values) t.Dispose();
    }

    [Fact]
    public void StrictLoadListsEveryOffendingKeyWithBothShapes()
    {
        using var net = new FixtureNet();
        var weights = FixtureWeights();
        weights.Remove("fc.weight");
        weights["extra.weight"] = zeros(1);
        weights["stem.0.weight"] = zeros(8, 3, 5, 5);
        var before = net.state_dict()["stem.1.running_var"].ToArray<float>();
        var ex = Assert.Throws<StateDictMismatchException>(() => net.load_state_dict(weights));
        Assert.Equal(new[] { "fc.weight" }, ex.MissingKeys);
        Assert.Equal(new[] { "extra.weight" }, ex.UnexpectedKeys);
        Assert.Contains("stem.0.weight: checkpoint shape [8, 3, 5, 5], model shape [8, 3, 3, 3]", ex.Message);
        Assert.Equal(before, net.state_dict()["stem.1.running_var"].ToArray<float>()); // nothing was copied

        weights["stem.0.weight"] = zeros(8, 3, 3, 3);
        var (missing, unexpected) = net.load_state_dict(weights, strict: false);
        Assert.Equal(new[] { "fc.weight" }, missing);
        Assert.Equal(new[] { "extra.weight" }, unexpected);
        Assert.Equal(0f, net.state_dict()["stem.0.weight"].abs().sum().item<float>());
    }

    [Fact]
    public void ReplacingASubmoduleKeepsItsPosition()
    {
        using var seq = Sequential(Conv2d(3, 4, 3), ReLU(), Conv2d(4, 2, 1));
        seq.register_module("1", Sigmoid());
        Assert.Equal(new[] { "0", "1", "2" }, seq.named_children().Select(c => c.name));
        Assert.Equal("Sigmoid", seq.get_submodule("1")!.GetName());
        var keys = seq.state_dict().Keys.ToList();
        Assert.Equal(new[] { "0.weight", "0.bias", "2.weight", "2.bias" }, keys);
    }

    [Fact]
    public void TrainEvalToAndZeroGradReachEveryDescendant()
    {
        using var net = new FixtureNet();
        net.eval();
        Assert.All(net.modules(), m => Assert.False(m.training));
        net.train();
        Assert.All(net.modules(), m => Assert.True(m.training));

        var firstParam = net.parameters().First();
        net.to(ScalarType.Float64);
        Assert.Same(firstParam, net.parameters().First()); // converted in place
        Assert.All(net.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        Assert.Equal(ScalarType.Int64, net.state_dict()["stem.1.num_batches_tracked"].dtype); // integers untouched
        using var x = randn(new long[] { 1, 3, 8, 8 }, ScalarType.Float64);
        using (var y = net.call(x))
        using (var loss = y.sum())
            loss.backward();
        Assert.All(net.parameters(), p => Assert.NotNull(p.grad));
        net.zero_grad();
        Assert.All(net.parameters(), p => Assert.Null(p.grad));
    }

    [Theory]
    [InlineData(16, 32, 3, 1)]
    [InlineData(32, 32, 3, 32)]
    [InlineData(64, 10, 1, 1)]
    public void ConvolutionInitialisationHasPyTorchsBounds(long cin, long cout, long k, long groups)
    {
        manual_seed(1);
        using var conv = Conv2d(cin, cout, k, groups: groups);
        double fanIn = cin / groups * k * k;
        double bound = 1 / Math.Sqrt(fanIn);
        var w = conv.weight.ToArray<float>();
        Assert.True(w.Max() <= bound && w.Min() >= -bound, "weights outside ±1/sqrt(fan_in)");
        double std = Math.Sqrt(w.Select(v => (double)v * v).Average());
        Assert.InRange(std, bound / Math.Sqrt(3) * 0.9, bound / Math.Sqrt(3) * 1.1); // U(-b, b) has std b/sqrt(3)
        var b = conv.bias!.ToArray<float>();
        Assert.True(b.Max() <= bound && b.Min() >= -bound);
        Assert.True(b.Distinct().Count() > 1);
    }

    [Fact]
    public void LinearBatchNormAndPReLUInitialiseAsPyTorch()
    {
        manual_seed(2);
        using var fc = Linear(400, 50);
        var w = fc.weight.ToArray<float>();
        double bound = 1 / Math.Sqrt(400);
        Assert.True(w.Max() <= bound && w.Min() >= -bound);
        Assert.InRange(Math.Sqrt(w.Select(v => (double)v * v).Average()), bound / Math.Sqrt(3) * 0.95, bound / Math.Sqrt(3) * 1.05);
        using var bn = BatchNorm2d(6);
        Assert.All(bn.weight!.ToArray<float>(), v => Assert.Equal(1f, v));
        Assert.All(bn.bias!.ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.All(bn.running_var!.ToArray<float>(), v => Assert.Equal(1f, v));
        Assert.Equal(0L, bn.num_batches_tracked!.item<long>());
        using var prelu = PReLU(4);
        Assert.All(prelu.weight.ToArray<float>(), v => Assert.Equal(0.25f, v));
    }

    [Fact]
    public void MacCounterFollowsThePapersConvention()
    {
        // conv 3->8 k3 s2 on 16x20: 8*8*10 outputs * 27 = 17,280 MACs; linear 8->4 on 1 row: 32 MACs.
        using var net = Sequential(Conv2d(3, 8, 3, stride: 2, padding: 1), BatchNorm2d(8), ReLU(), AdaptiveAvgPool2d(1), Flatten(), Linear(8, 4));
        var report = ModelComplexity.Measure(net, 1, 3, 16, 20);
        Assert.Equal(17_280L, report.ByOperator["conv2d"]);
        Assert.Equal(32L, report.ByOperator["linear"]);
        Assert.Equal(17_312L, report.MultiplyAdds);
        Assert.Equal(8 * 27 + 8 + 8 + 8 + 32 + 4, report.Parameters);
        Assert.True(net.training); // restored
    }
}

public class BatchNormGuardTests
{
    [Fact]
    public void TrainingOnOneValuePerChannelIsRefusedAsInPyTorch()
    {
        using var bn = BatchNorm2d(4);
        using var x = ones(1, 4, 1, 1);
        var ex = Assert.Throws<ArgumentException>(() => bn.call(x));
        Assert.Contains("more than 1 value per channel", ex.Message);
        bn.eval();
        using var y = bn.call(x); // eval uses running statistics: fine
        Assert.Equal(new long[] { 1, 4, 1, 1 }, y.shape);
    }
}

public class SequentialReplacementTests
{
    [Fact]
    public void ReplacingALayerByIndexKeepsItsKeyAndIsUsedByForward()
    {
        using var seq = Sequential(("conv", Conv2d(1, 1, 1, bias: false)), ("act", ReLU()));
        seq[1] = Sigmoid();
        Assert.Equal(new[] { "conv", "act" }, seq.named_children().Select(c => c.name));
        using (no_grad()) seq.state_dict()["conv.weight"].fill_(1);
        using var y = seq.call(full(new long[] { 1, 1, 1, 1 }, -100f));
        Assert.Equal(0f, y.item<float>(), 6); // sigmoid(-100), where the replaced ReLU would also give 0 ...
        using var z = seq.call(zeros(1, 1, 1, 1));
        Assert.Equal(0.5f, z.item<float>(), 6); // ... but only the sigmoid gives 0.5 at zero
    }
}

public class SequentialRegisterModuleTests
{
    [Fact]
    public void RegisterModuleOnASequentialChangesWhatForwardRuns()
    {
        using var seq = Sequential(Identity(), ReLU());
        seq.register_module("1", Sigmoid());
        using var z = seq.call(zeros(1));
        Assert.Equal(0.5f, z.item<float>(), 6);
    }
}
