using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Training;

/// <summary>
/// Dynamic loss scaling for float16 mixed precision (PyTorch's <c>torch.cuda.amp.GradScaler</c>): the loss is
/// multiplied by a scale before backward so small float16 gradients do not flush to zero; <see cref="Step"/> unscales
/// the gradients, skips the optimiser step when any of them is infinite or NaN, and <see cref="Update"/> halves the scale
/// after such a step (backoff) or doubles it after <see cref="GrowthInterval"/> clean steps in a row (growth).
/// </summary>
/// <remarks>
/// The arithmetic is device-independent (it runs on CPU tensors too, which is how it is tested without a GPU); the
/// trainer enables it only for float16 autocast on CUDA — bfloat16 on the CPU has float32's range and needs no scaling.
/// Unlike PyTorch, the scale lives on the host, and the found-inf check costs one device synchronisation per step.
/// The state dict has PyTorch's keys: scale, growth_factor, backoff_factor, growth_interval, _growth_tracker.
/// </remarks>
public sealed class GradScaler
{
    private bool _unscaled;
    private bool? _foundInf;

    /// <summary>Creates a scaler.</summary>
    public GradScaler(double initScale = 65536.0, double growthFactor = 2.0, double backoffFactor = 0.5, int growthInterval = 2000,
        bool enabled = true, IGradientSync? sync = null)
    {
        if (initScale <= 0) throw new ArgumentOutOfRangeException(nameof(initScale), initScale, "must be positive");
        if (growthFactor <= 1) throw new ArgumentOutOfRangeException(nameof(growthFactor), growthFactor, "must be above 1");
        if (backoffFactor <= 0 || backoffFactor >= 1) throw new ArgumentOutOfRangeException(nameof(backoffFactor), backoffFactor, "must be in (0, 1)");
        if (growthInterval < 1) throw new ArgumentOutOfRangeException(nameof(growthInterval), growthInterval, "must be at least 1");
        Scale = initScale;
        GrowthFactor = growthFactor;
        BackoffFactor = backoffFactor;
        GrowthInterval = growthInterval;
        Enabled = enabled;
        Sync = sync ?? SingleProcessSync.Instance;
    }

    /// <summary>Whether scaling is on (off: every call passes through).</summary>
    public bool Enabled { get; }

    /// <summary>The current loss scale.</summary>
    public double Scale { get; private set; }

    /// <summary>Factor applied after <see cref="GrowthInterval"/> clean steps.</summary>
    public double GrowthFactor { get; private set; }

    /// <summary>Factor applied after a step with non-finite gradients.</summary>
    public double BackoffFactor { get; private set; }

    /// <summary>Clean steps before the scale grows.</summary>
    public int GrowthInterval { get; private set; }

    /// <summary>Clean steps since the last growth or backoff.</summary>
    public int GrowthTracker { get; private set; }

    /// <summary>Steps skipped so far because of non-finite gradients.</summary>
    public long SkippedSteps { get; private set; }

    /// <summary>Whether the last <see cref="Step"/> was skipped.</summary>
    public bool LastStepSkipped { get; private set; }

    /// <summary>Where found-inf flags are combined across processes.</summary>
    public IGradientSync Sync { get; }

    /// <summary>The loss times the scale (the loss itself when disabled). The caller owns the result.</summary>
    public Tensor ScaleLoss(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        return Enabled ? loss.mul(Scale) : loss.alias();
    }

    /// <summary>
    /// Divides the gradients of <paramref name="optimizer"/>'s parameters by the scale in place and records whether any
    /// is non-finite (call it before gradient clipping). Calling it twice before <see cref="Update"/> throws.
    /// </summary>
    public void Unscale(optim.Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!Enabled) return;
        if (_unscaled) throw new InvalidOperationException("Unscale was already called since the last Update");
        double inv = 1.0 / Scale;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor? found = null;
        foreach (var p in optimizer.parameters())
        {
            var g = p.grad;
            if (g is null) continue;
            g.mul_(inv);
            // x - x is NaN exactly where x is NaN or ±inf.
            var bad = g.sub(g).isnan().any().to(ScalarType.Float32, CPU);
            found = found is null ? bad : found.add(bad);
        }
        var flag = found ?? zeros(1);
        var total = flag.reshape(1).clone();
        Sync.AllReduceSum(total);
        _foundInf = total.item<float>() > 0;
        _unscaled = true;
    }

    /// <summary>Unscales (if not done yet) and steps the optimiser unless a gradient was non-finite.</summary>
    /// <returns>Whether the optimiser stepped.</returns>
    public bool Step(optim.Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!Enabled)
        {
            optimizer.step();
            LastStepSkipped = false;
            return true;
        }
        if (!_unscaled) Unscale(optimizer);
        LastStepSkipped = _foundInf == true;
        if (LastStepSkipped)
        {
            SkippedSteps++;
            return false;
        }
        optimizer.step();
        return true;
    }

    /// <summary>Adjusts the scale after a step: backoff on non-finite gradients, growth after enough clean steps.</summary>
    public void Update()
    {
        if (!Enabled) return;
        if (_foundInf is null) throw new InvalidOperationException("Update needs a Step (or Unscale) since the last Update");
        if (_foundInf.Value)
        {
            Scale *= BackoffFactor;
            GrowthTracker = 0;
        }
        else if (++GrowthTracker == GrowthInterval)
        {
            Scale *= GrowthFactor;
            GrowthTracker = 0;
        }
        _foundInf = null;
        _unscaled = false;
    }

    /// <summary>PyTorch's GradScaler state dict (empty when disabled).</summary>
    public Dictionary<string, object?> state_dict() => !Enabled ? new() : new()
    {
        ["scale"] = Scale,
        ["growth_factor"] = GrowthFactor,
        ["backoff_factor"] = BackoffFactor,
        ["growth_interval"] = (long)GrowthInterval,
        ["_growth_tracker"] = (long)GrowthTracker,
    };

    /// <summary>Restores <see cref="state_dict"/>'s values (an empty dict, from a disabled scaler, throws when enabled).</summary>
    public void load_state_dict(Dictionary<string, object?> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!Enabled) return;
        if (state.Count == 0) throw new ArgumentException("the scaler state is empty (saved from a disabled scaler)", nameof(state));
        static double D(object? v) => Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture);
        Scale = D(state["scale"]);
        GrowthFactor = D(state["growth_factor"]);
        BackoffFactor = D(state["backoff_factor"]);
        GrowthInterval = (int)D(state["growth_interval"]);
        GrowthTracker = (int)D(state["_growth_tracker"]);
    }
}
