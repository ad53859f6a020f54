using System.Text.Json;
using FastSeg.Torch;
using FastSeg.Torch.Tests;
using FastSeg.Training.Ema;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Tests;

public class EmaTests(ITestOutputHelper output) : ParityTest(output)
{
    // The fixture's network: Conv2d(3, 4, 3, padding 1), BatchNorm2d(4), ReLU, Conv2d(4, 2, 1).
    private static FastSeg.Torch.Modules.Sequential Network() =>
        nn.Sequential(nn.Conv2d(3, 4, 3, padding: 1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1));

    private static Dictionary<string, Tensor> State(JsonElement e) =>
        e.EnumerateObject().ToDictionary(p => p.Name, p => Fixture.ToTensor(p.Value));

    [Fact]
    public void FollowsTheReferenceDecayRamp()
    {
        using var scope = NewDisposeScope();
        var c = Case("ema");
        long total = c.GetProperty("total_iterations").GetInt64();
        using var model = Network();
        Assert.Equal(c.GetProperty("keys").EnumerateArray().Select(k => k.GetString()), model.state_dict().Keys);
        model.load_state_dict(State(c.GetProperty("initial")));
        using var ema = new ModelEma(model, total);

        foreach (var step in c.GetProperty("steps").EnumerateArray())
        {
            long it = step.GetProperty("iteration").GetInt64();
            var modelState = State(step.GetProperty("model"));
            var expected = State(step.GetProperty("ema"));
            model.load_state_dict(modelState);
            ema.Update(model, it);
            Log($"iteration {it}: decay {ema.Decay(it)}");
            foreach (var (key, value) in ema.state_dict())
            {
                if (is_floating_point(value.dtype)) Near(expected[key], value, Tol32, $"EMA step {it} {key}");
                else
                {
                    // integer buffers are copied from the model (the reference's truncated blend is in the fixture)
                    TensorAssert.Equal(modelState[key], value, $"EMA step {it} {key}");
                    Log($"EMA step {it} {key}: {value.item<long>()} (reference {expected[key].item<long>()})");
                }
            }
        }

        // CopyTo loads the average into another network of the same shape
        using var evalNet = Network();
        ema.CopyTo(evalNet);
        foreach (var (key, value) in evalNet.state_dict()) TensorAssert.Equal(ema.state_dict()[key], value, key);
    }

    [Fact]
    public void DecayIsClampedIterationOverTotal()
    {
        Assert.Equal(0.0, ModelEma.DecayAt(0, 10));
        Assert.Equal(0.3, ModelEma.DecayAt(3, 10));
        Assert.Equal(1.0, ModelEma.DecayAt(10, 10));
        Assert.Equal(1.0, ModelEma.DecayAt(25, 10));
        Assert.Equal(0.0, ModelEma.DecayAt(-1, 10));
    }

    [Fact]
    public void DecayRampOnAConstantShift()
    {
        using var scope = NewDisposeScope();
        using var model = Network();
        using var ema = new ModelEma(model, totalIterations: 4);
        var start = model.state_dict()["0.bias"].clone();
        // each step the model moves by +1; ema_t = d·ema + (1 − d)·model with d = t / 4
        double expectedShift = 0;
        for (int t = 1; t <= 6; t++)
        {
            using (no_grad()) model.state_dict()["0.bias"].add_(1.0);
            ema.Update(model, t);
            double d = Math.Clamp(t / 4.0, 0, 1);
            expectedShift = d * expectedShift + (1 - d) * t;
            Near(start.add(expectedShift), ema.state_dict()["0.bias"], Tol32, $"shift after {t}");
        }
        Assert.Equal(1.78125, expectedShift, 12); // frozen from iteration 4 on
    }

    [Fact]
    public void DisabledAverageCopiesTheModel()
    {
        using var scope = NewDisposeScope();
        using var model = Network();
        using var ema = new ModelEma(model, 100, enabled: false);
        using (no_grad()) foreach (var p in model.parameters()) p.mul_(2.0);
        ema.Update(model, 1);
        foreach (var (key, value) in model.state_dict()) TensorAssert.Equal(value, ema.state_dict()[key], key);
    }

    [Fact]
    public void StateRoundTripsAndMismatchesThrow()
    {
        using var scope = NewDisposeScope();
        using var model = Network();
        using var ema = new ModelEma(model, 10);
        var saved = ema.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using (no_grad()) foreach (var p in model.parameters()) p.add_(1.0);
        ema.Update(model, 5);
        ema.load_state_dict(saved);
        foreach (var (key, value) in saved) TensorAssert.Equal(value, ema.state_dict()[key], key);

        ema.Reset(model);
        foreach (var (key, value) in model.state_dict()) TensorAssert.Equal(value, ema.state_dict()[key], key);

        using var other = nn.Sequential(nn.Conv2d(3, 4, 3));
        Assert.Throws<ArgumentException>(() => ema.Update(other, 1));
        Assert.Throws<StateDictMismatchException>(() => ema.load_state_dict(other.state_dict()));
    }
}
