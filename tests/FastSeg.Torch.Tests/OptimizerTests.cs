using System.Text.Json;
using FastSeg.Torch;
using FastSeg.Torch.Optim;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Tests;

/// <summary>
/// SGD, Adam and AdamW against PyTorch 1.13 (tools/make_optim_fixtures.py): a least-squares problem stepped 20 times,
/// gradients computed by FastSeg's autograd, parameters compared after every step, state dicts compared key by key.
/// </summary>
public class OptimizerTests
{
    private const string File = "optim.json";
    private const int Steps = 20;
    private const double Tolerance = 1e-6;

    private readonly ITestOutputHelper _output;

    public OptimizerTests(ITestOutputHelper output) => _output = output;

    public static readonly TheoryData<string> Cases = new()
    {
        "sgd_nesterov", "sgd_dampening", "sgd_plain", "sgd_maximize", "adam", "adam_amsgrad", "adamw", "adamw_amsgrad",
        "sgd_groups", "adam_groups",
    };

    private static optim.Optimizer Make(string name, nn.Parameter W, nn.Parameter b) => name switch
    {
        "sgd_nesterov" => optim.SGD(new[] { W, b }, lr: 0.05, momentum: 0.9, dampening: 0.0, weight_decay: 1e-4, nesterov: true),
        "sgd_dampening" => optim.SGD(new[] { W, b }, lr: 0.05, momentum: 0.9, dampening: 0.1),
        "sgd_plain" => optim.SGD(new[] { W, b }, lr: 0.1, weight_decay: 1e-3),
        "sgd_maximize" => optim.SGD(new[] { W, b }, lr: 0.01, momentum: 0.5, maximize: true),
        "adam" => optim.Adam(new[] { W, b }, lr: 0.05),
        "adam_amsgrad" => optim.Adam(new[] { W, b }, lr: 0.05, betas: (0.8, 0.99), weight_decay: 1e-2, amsgrad: true),
        "adamw" => optim.AdamW(new[] { W, b }, lr: 0.05, weight_decay: 0.1),
        "adamw_amsgrad" => optim.AdamW(new[] { W, b }, lr: 0.05, weight_decay: 0.1, amsgrad: true),
        "sgd_groups" => optim.SGD(new[]
        {
            new optim.ParamGroup(new[] { W }, lr: 0.05, weight_decay: 1e-3),
            new optim.ParamGroup(new[] { b }, lr: 0.01),
        }, lr: 0.1, momentum: 0.9),
        "adam_groups" => optim.Adam(new[]
        {
            new optim.ParamGroup(new[] { W }, lr: 0.02),
            new optim.ParamGroup(new[] { b }, lr: 0.05) { ["betas"] = new object?[] { 0.8, 0.99 } },
        }, lr: 0.01),
        _ => throw new ArgumentException(name),
    };

    /// <summary>The least-squares data and initial parameters (tensors detached from any scope).</summary>
    private sealed class Problem : IDisposable
    {
        public readonly Tensor X, Y;
        public readonly nn.Parameter W, b;

        public Problem()
        {
            var c = Fixture.Case(File, "problem");
            X = c.Tensor("X").DetachFromDisposeScope();
            Y = c.Tensor("Y").DetachFromDisposeScope();
            using var w0 = c.Tensor("W0");
            using var b0 = c.Tensor("b0");
            W = new nn.Parameter(w0);
            b = new nn.Parameter(b0);
        }

        /// <summary>zero_grad, loss, backward, step; every temporary freed.</summary>
        public void TrainStep(optim.Optimizer opt)
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var loss = (X.matmul(W.t()) + b - Y).pow(2).mean();
            loss.backward();
            opt.step();
        }

        public void Dispose()
        {
            X.Dispose();
            Y.Dispose();
            W.Dispose();
            b.Dispose();
        }
    }

    private static JsonElement Trajectory(string name, int step) => Fixture.Case(File, "optim_" + name).GetProperty("trajectory")[step - 1];

    private static double CompareToTrajectory(Problem p, string name, int step)
    {
        using var scope = NewDisposeScope();
        var expected = Trajectory(name, step);
        double worst = 0;
        foreach (var (key, actual) in new[] { ("W", (Tensor)p.W), ("b", (Tensor)p.b) })
        {
            var e = expected.Tensor(key);
            TensorAssert.Close(e, actual, rtol: 0, atol: Tolerance, what: $"{name} {key} after step {step}");
            worst = Math.Max(worst, (e - actual).abs().max().item<double>());
        }
        return worst;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorchAfterEveryStep(string name)
    {
        using var p = new Problem();
        using var opt = Make(name, p.W, p.b);
        double worstParam = 0, worstState = 0;
        for (int t = 1; t <= Steps; t++)
        {
            p.TrainStep(opt);
            worstParam = Math.Max(worstParam, CompareToTrajectory(p, name, t));
            if (t == 10 || t == Steps)
            {
                using var scope = NewDisposeScope();
                var expected = StateDictFixture.Decode(Fixture.Case(File, "optim_" + name).GetProperty($"state_dict_{t}"));
                worstState = Math.Max(worstState, StateDictFixture.AssertSame(expected, opt.state_dict(), "state_dict", atol: Tolerance));
            }
        }
        _output.WriteLine($"{name}: max |param − PyTorch| = {worstParam:G3}, max |state − PyTorch| = {worstState:G3}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void StateDictRoundTripContinuesIdentically(string name)
    {
        using var p = new Problem();
        using var q = new Problem();
        using var a = Make(name, p.W, p.b);
        for (int t = 1; t <= 10; t++) p.TrainStep(a);

        using (no_grad())
        {
            q.W.copy_(p.W);
            q.b.copy_(p.b);
        }
        using var b = Make(name, q.W, q.b);
        using (var scope = NewDisposeScope())
        {
            var saved = a.state_dict();
            b.load_state_dict(saved);
            // Loading copies: the saved dict (and its tensors) can go without affecting b.
        }
        using (var scope = NewDisposeScope())
            StateDictFixture.AssertSame(a.state_dict(), b.state_dict(), "reloaded", rtol: 0, atol: 0);

        for (int t = 11; t <= Steps; t++)
        {
            p.TrainStep(a);
            q.TrainStep(b);
            Assert.True(p.W.equal(q.W) && p.b.equal(q.b), $"{name}: the reloaded optimizer diverged at step {t}");
            CompareToTrajectory(q, name, t);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ContinuesFromPyTorchStateDict(string name)
    {
        using var p = new Problem();
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var at10 = Trajectory(name, 10);
            p.W.copy_(at10.Tensor("W"));
            p.b.copy_(at10.Tensor("b"));
        }
        using var opt = Make(name, p.W, p.b);
        using (var scope = NewDisposeScope())
            opt.load_state_dict(StateDictFixture.DecodeDict(Fixture.Case(File, "optim_" + name).GetProperty("state_dict_10")));
        for (int t = 11; t <= Steps; t++)
        {
            p.TrainStep(opt);
            CompareToTrajectory(p, name, t);
        }
    }

    [Fact]
    public void ParamGroupsTakeMissingOptionsFromTheDefaults()
    {
        using var p = new Problem();
        using var opt = Make("sgd_groups", p.W, p.b);
        Assert.Equal(2, opt.param_groups.Count);
        Assert.Equal(0.05, opt.param_groups[0].lr);
        Assert.Equal(1e-3, opt.param_groups[0].weight_decay);
        Assert.Equal(0.01, opt.param_groups[1].lr);
        Assert.Equal(0.0, opt.param_groups[1].weight_decay);
        Assert.Equal(0.9, opt.param_groups[1].GetDouble("momentum"));
        Assert.Equal(new[] { "lr", "weight_decay", "momentum", "dampening", "nesterov", "maximize", "foreach", "differentiable" },
            opt.param_groups[0].Keys);

        using var extra = new nn.Parameter(zeros(2));
        opt.add_param_group(new optim.ParamGroup(new[] { extra }) { ["momentum"] = 0.5 });
        Assert.Equal(0.1, opt.param_groups[2].lr);
        Assert.Equal(0.5, opt.param_groups[2].GetDouble("momentum"));
        var dup = Assert.Throws<ArgumentException>(() => opt.add_param_group(new optim.ParamGroup(new[] { p.W })));
        Assert.Contains("more than one parameter group", dup.Message);
    }

    [Fact]
    public void ZeroGradClearsOrZeroesGradients()
    {
        using var p = new Problem();
        using var opt = optim.SGD(new[] { p.W, p.b }, lr: 0.1);
        p.TrainStep(opt);
        using (var scope = NewDisposeScope())
        {
            var loss = (p.X.matmul(p.W.t()) + p.b - p.Y).pow(2).mean();
            loss.backward();
        }
        opt.zero_grad(set_to_none: false);
        using (var g = p.W.grad)
        {
            Assert.NotNull(g);
            Assert.All(g!.ToArray<float>(), v => Assert.Equal(0f, v));
        }
        opt.zero_grad();
        Assert.Null(p.W.grad);
        Assert.Null(p.b.grad);
    }

    [Fact]
    public void SkipsParametersWithoutGradients()
    {
        using var used = new nn.Parameter(ones(3));
        using var unused = new nn.Parameter(ones(3));
        using var opt = optim.Adam(new[] { used, unused }, lr: 0.1);
        using (var scope = NewDisposeScope())
        {
            used.sum().backward();
            opt.step();
        }
        Assert.All(unused.ToArray<float>(), v => Assert.Equal(1f, v));
        Assert.All(used.ToArray<float>(), v => Assert.InRange(v, 0.8999f, 0.9001f));
        using var scope2 = NewDisposeScope();
        var state = (Dictionary<long, object?>)opt.state_dict()["state"]!;
        Assert.Equal(new long[] { 0 }, state.Keys);
    }

    [Fact]
    public void LoadStateDictRejectsMismatchesAndNamesThem()
    {
        using var p = new Problem();
        using var opt = optim.Adam(new[] { p.W, p.b }, lr: 0.01);
        p.TrainStep(opt);
        using var scope = NewDisposeScope();
        var good = opt.state_dict();

        using var other = new nn.Parameter(zeros(4, 3));
        using var single = optim.Adam(new[] { other }, lr: 0.01);
        var count = Assert.Throws<ArgumentException>(() => single.load_state_dict(good));
        Assert.Contains("group 0 of the loaded state dict has 2 parameter(s)", count.Message);
        Assert.Contains("group 0 has 1", count.Message);

        using var twoGroups = optim.Adam(new[] { new optim.ParamGroup(new[] { p.W }), new optim.ParamGroup(new[] { p.b }) });
        var groups = Assert.Throws<ArgumentException>(() => twoGroups.load_state_dict(good));
        Assert.Contains("1 parameter group(s) but the optimizer has 2", groups.Message);

        using var wrongShape = new nn.Parameter(zeros(4, 3));
        using var bias = new nn.Parameter(zeros(3));
        using var shaped = optim.Adam(new[] { wrongShape, bias }, lr: 0.01);
        var shape = Assert.Throws<ArgumentException>(() => shaped.load_state_dict(good));
        Assert.Contains("'exp_avg' of parameter 0", shape.Message);
        Assert.Contains("[3, 4]", shape.Message);
        Assert.Contains("[4, 3]", shape.Message);
        // A failed load changes nothing.
        Assert.Empty((Dictionary<long, object?>)shaped.state_dict()["state"]!);

        var missing = Assert.Throws<ArgumentException>(() => opt.load_state_dict(new Dictionary<string, object?> { ["state"] = new Dictionary<long, object?>() }));
        Assert.Contains("param_groups", missing.Message);
    }

    [Fact]
    public void StepLeavesNothingInTheCallersDisposeScope()
    {
        using var p = new Problem();
        foreach (var opt in new optim.Optimizer[]
                 {
                     optim.SGD(new[] { p.W, p.b }, lr: 0.01, momentum: 0.9, weight_decay: 1e-4, nesterov: true),
                     optim.Adam(new[] { p.W, p.b }, lr: 1e-3, weight_decay: 1e-4, amsgrad: true),
                     optim.AdamW(new[] { p.W, p.b }, lr: 1e-3, amsgrad: true, maximize: true),
                 })
        {
            using (opt)
            {
                using (var setup = NewDisposeScope())
                {
                    opt.zero_grad();
                    (p.X.matmul(p.W.t()) + p.b - p.Y).pow(2).mean().backward();
                }
                using var scope = NewDisposeScope();
                for (int k = 0; k < 200; k++)
                {
                    opt.step();
                    Assert.Equal(0, scope.DisposablesCount);
                }
            }
        }
    }

    [Fact]
    public void ValidatesArgumentsLikePyTorch()
    {
        using var w = new nn.Parameter(zeros(2));
        Assert.Throws<ArgumentException>(() => optim.SGD(new[] { w }, lr: 0.1, nesterov: true));
        Assert.Throws<ArgumentException>(() => optim.SGD(new[] { w }, lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => optim.SGD(new[] { w }, lr: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => optim.Adam(new[] { w }, betas: (1.0, 0.999)));
        Assert.Throws<ArgumentException>(() => optim.Adam(Array.Empty<nn.Parameter>()));
    }
}
