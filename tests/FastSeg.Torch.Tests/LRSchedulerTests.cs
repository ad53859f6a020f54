using System.Text.Json;
using FastSeg.Torch;
using FastSeg.Torch.Optim;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;
using LRScheduler = FastSeg.Torch.torch.optim.lr_scheduler.LRScheduler;

namespace FastSeg.Torch.Tests;

/// <summary>
/// Learning-rate schedulers against PyTorch 1.13 (tools/make_optim_fixtures.py): two parameter groups (lr 0.1 and
/// 0.02), the rates after construction and after each of 100 steps, the cycled momenta of OneCycleLR, and state dicts
/// after 37 steps.
/// </summary>
public class LRSchedulerTests
{
    private const string File = "optim.json";
    private const int Steps = 100;
    private const int Snapshot = 37;
    private const double RelativeTolerance = 1e-10;

    private readonly ITestOutputHelper _output;

    public LRSchedulerTests(ITestOutputHelper output) => _output = output;

    public static readonly TheoryData<string> Cases = new()
    {
        "step", "multistep", "exponential", "lambda", "cosine", "poly", "linear", "onecycle_sgd", "onecycle_adam_three_phase",
        "zh320_cos_warmup", "zh320_linear", "warmup_poly", "warmup_cosine",
    };

    /// <summary>An optimizer with two groups and a scheduler on it, as the fixture script builds them.</summary>
    private sealed class Setup : IDisposable
    {
        private readonly nn.Parameter _w1 = new(zeros(2));
        private readonly nn.Parameter _w2 = new(zeros(3));
        public readonly optim.Optimizer Optimizer;
        public readonly LRScheduler Scheduler;

        public Setup(string name)
        {
            bool adam = name == "onecycle_adam_three_phase";
            var groups = new[] { new optim.ParamGroup(new[] { _w1 }, lr: 0.1), new optim.ParamGroup(new[] { _w2 }, lr: 0.02) };
            Optimizer = adam ? optim.Adam(groups, lr: 0.1) : optim.SGD(groups, lr: 0.1, momentum: 0.9);
            var o = Optimizer;
            Scheduler = name switch
            {
                "step" => optim.lr_scheduler.StepLR(o, step_size: 7, gamma: 0.5),
                "multistep" => optim.lr_scheduler.MultiStepLR(o, new[] { 10, 30, 30, 60 }, gamma: 0.3),
                "exponential" => optim.lr_scheduler.ExponentialLR(o, gamma: 0.97),
                "lambda" => optim.lr_scheduler.LambdaLR(o, e => 1.0 / (1.0 + 0.05 * e)),
                "cosine" => optim.lr_scheduler.CosineAnnealingLR(o, T_max: 30, eta_min: 1e-4),
                "poly" => optim.lr_scheduler.PolynomialLR(o, total_iters: 80, power: 0.9),
                "linear" => optim.lr_scheduler.LinearLR(o, start_factor: 0.25, end_factor: 1.0, total_iters: 10),
                "onecycle_sgd" => optim.lr_scheduler.OneCycleLR(o, max_lr: 0.1, total_steps: 100, pct_start: 0.25),
                "onecycle_adam_three_phase" => optim.lr_scheduler.OneCycleLR(o, max_lr: new[] { 0.01, 0.005 }, total_steps: 100,
                    pct_start: 0.3, anneal_strategy: AnnealStrategy.Linear, three_phase: true, div_factor: 10.0, final_div_factor: 100.0),
                "zh320_cos_warmup" => optim.lr_scheduler.OneCycleLR(o, max_lr: 0.01, total_steps: 100, pct_start: 3.0 / 20),
                "zh320_linear" => optim.lr_scheduler.OneCycleLR(o, max_lr: 0.01, total_steps: 100, pct_start: 0.0,
                    anneal_strategy: AnnealStrategy.Linear),
                "warmup_poly" => optim.lr_scheduler.SequentialLR(o, new LRScheduler[]
                {
                    optim.lr_scheduler.LinearLR(o, start_factor: 0.1, end_factor: 1.0, total_iters: 10),
                    optim.lr_scheduler.PolynomialLR(o, total_iters: 90, power: 0.9),
                }, milestones: new[] { 10 }),
                "warmup_cosine" => optim.lr_scheduler.SequentialLR(o, new LRScheduler[]
                {
                    optim.lr_scheduler.LinearLR(o, start_factor: 0.01, end_factor: 1.0, total_iters: 5),
                    optim.lr_scheduler.CosineAnnealingLR(o, T_max: 95, eta_min: 0.0),
                }, milestones: new[] { 5 }),
                _ => throw new ArgumentException(name),
            };
        }

        /// <summary>One training iteration's worth of stepping (no gradients, so the optimizer step is a no-op).</summary>
        public void Step()
        {
            Optimizer.step();
            Scheduler.step();
        }

        public double[] Momenta() => Optimizer.param_groups
            .Select(g => g.ContainsKey("betas") ? g.GetPair("betas").Item1 : g.GetDouble("momentum")).ToArray();

        public void Dispose()
        {
            Optimizer.Dispose();
            _w1.Dispose();
            _w2.Dispose();
        }
    }

    private static JsonElement Case(string name) => Fixture.Case(File, "sched_" + name);

    private static double[] Row(JsonElement rows, int t) => rows[t].EnumerateArray().Select(x => x.GetDouble()).ToArray();

    /// <summary>Asserts closeness to 1e-10 relative (values at exactly 0 must be 0 within 1e-18); returns the largest relative error.</summary>
    private static double AssertClose(double[] expected, IReadOnlyList<double> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Count);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(actual[i] - expected[i]);
            Assert.True(diff <= RelativeTolerance * Math.Abs(expected[i]) + 1e-18,
                $"{what}, group {i}: {actual[i]:R}, PyTorch {expected[i]:R}");
            if (expected[i] != 0) worst = Math.Max(worst, diff / Math.Abs(expected[i]));
        }
        return worst;
    }

    private static bool HasMomenta(string name) => Case(name).TryGetProperty("momenta", out _);

    [Theory]
    [MemberData(nameof(Cases))]
    public void LearningRatesMatchPyTorchOverAHundredSteps(string name)
    {
        using var s = new Setup(name);
        var lrs = Case(name).GetProperty("lrs");
        bool momenta = Case(name).TryGetProperty("momenta", out var moms);
        double worst = AssertClose(Row(lrs, 0), s.Scheduler.get_last_lr(), $"{name} lr at construction");
        double worstMomentum = 0;
        for (int t = 1; t <= Steps; t++)
        {
            s.Step();
            worst = Math.Max(worst, AssertClose(Row(lrs, t), s.Scheduler.get_last_lr(), $"{name} lr at step {t}"));
            Assert.Equal(s.Scheduler.get_last_lr(), s.Optimizer.param_groups.Select(g => g.lr));
            if (momenta) worstMomentum = Math.Max(worstMomentum, AssertClose(Row(moms, t), s.Momenta(), $"{name} momentum at step {t}"));
        }
        Assert.Equal(Steps, s.Scheduler.last_epoch);
        _output.WriteLine($"{name}: max relative lr error {worst:G3}" + (momenta ? $", momentum {worstMomentum:G3}" : ""));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void StateDictsHavePyTorchsLayout(string name)
    {
        using var s = new Setup(name);
        for (int t = 1; t <= Snapshot; t++) s.Step();
        using var scope = NewDisposeScope();
        var expectedScheduler = StateDictFixture.Decode(Case(name).GetProperty("scheduler_state"));
        StateDictFixture.AssertSame(expectedScheduler, s.Scheduler.state_dict(), "scheduler", rtol: RelativeTolerance);
        var expectedOptimizer = StateDictFixture.Decode(Case(name).GetProperty("optimizer_state"));
        StateDictFixture.AssertSame(expectedOptimizer, s.Optimizer.state_dict(), "optimizer", rtol: RelativeTolerance);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void StateDictRoundTripResumesTheSequence(string name)
    {
        using var a = new Setup(name);
        for (int t = 1; t <= Snapshot; t++) a.Step();
        using var b = new Setup(name);
        for (int t = 1; t <= 5; t++) b.Step(); // wherever b stands, loading puts it where a is
        using (var scope = NewDisposeScope())
        {
            b.Optimizer.load_state_dict(a.Optimizer.state_dict());
            b.Scheduler.load_state_dict(a.Scheduler.state_dict());
        }
        Assert.Equal(a.Scheduler.last_epoch, b.Scheduler.last_epoch);
        Assert.Equal(a.Scheduler.get_last_lr(), b.Scheduler.get_last_lr());
        var lrs = Case(name).GetProperty("lrs");
        for (int t = Snapshot + 1; t <= Steps; t++)
        {
            a.Step();
            b.Step();
            Assert.Equal(a.Scheduler.get_last_lr(), b.Scheduler.get_last_lr());
            Assert.Equal(a.Momenta(), b.Momenta());
            AssertClose(Row(lrs, t), b.Scheduler.get_last_lr(), $"{name} resumed lr at step {t}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ResumesFromPyTorchStateDicts(string name)
    {
        using var s = new Setup(name);
        using (var scope = NewDisposeScope())
        {
            s.Optimizer.load_state_dict(StateDictFixture.DecodeDict(Case(name).GetProperty("optimizer_state")));
            s.Scheduler.load_state_dict(StateDictFixture.DecodeDict(Case(name).GetProperty("scheduler_state")));
        }
        var lrs = Case(name).GetProperty("lrs");
        bool momenta = Case(name).TryGetProperty("momenta", out var moms);
        for (int t = Snapshot + 1; t <= Steps; t++)
        {
            s.Step();
            AssertClose(Row(lrs, t), s.Scheduler.get_last_lr(), $"{name} lr at step {t} after loading PyTorch's state");
            if (momenta) AssertClose(Row(moms, t), s.Momenta(), $"{name} momentum at step {t} after loading PyTorch's state");
        }
    }

    [Fact]
    public void OneCycleRefusesToStepPastTheEnd()
    {
        using var w = new nn.Parameter(zeros(1));
        using var opt = optim.SGD(new[] { w }, lr: 0.1, momentum: 0.9);
        var s = optim.lr_scheduler.OneCycleLR(opt, max_lr: 0.1, total_steps: 10);
        for (int t = 1; t <= 10; t++) s.step();
        var e = Assert.Throws<InvalidOperationException>(() => s.step());
        Assert.Contains("Tried to step 12 times", e.Message);
    }

    [Fact]
    public void OneCycleNeedsAnOptimizerWithMomentumWhenCycling()
    {
        using var w = new nn.Parameter(zeros(1));
        using var opt = optim.SGD(new[] { w }, lr: 0.1);
        // SGD always has a momentum option (0 here), so cycling works and overrides it, as in PyTorch.
        var s = optim.lr_scheduler.OneCycleLR(opt, max_lr: 0.1, total_steps: 10);
        Assert.Equal(0.95, opt.param_groups[0].GetDouble("momentum"));
        Assert.Equal(0.004, s.get_last_lr()[0], 15);
    }

    [Fact]
    public void ResumingWithLastEpochRequiresInitialLr()
    {
        using var w = new nn.Parameter(zeros(1));
        using var opt = optim.SGD(new[] { w }, lr: 0.1);
        var e = Assert.Throws<KeyNotFoundException>(() => optim.lr_scheduler.StepLR(opt, 3, last_epoch: 5));
        Assert.Contains("initial_lr", e.Message);
    }

    [Fact]
    public void SchedulerStateDictRejectsAWrongGroupCount()
    {
        using var a = new Setup("step");
        using var w = new nn.Parameter(zeros(1));
        using var single = optim.SGD(new[] { w }, lr: 0.1);
        var s = optim.lr_scheduler.StepLR(single, 7, 0.5);
        var e = Assert.Throws<ArgumentException>(() => s.load_state_dict(a.Scheduler.state_dict()));
        Assert.Contains("base_lrs", e.Message);
    }
}
