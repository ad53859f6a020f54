using System.Collections;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Optim;

/// <summary>
/// The one-cycle policy (PyTorch 1.13's <c>OneCycleLR</c>), stepped once per batch. The learning rate climbs from
/// max_lr/<c>div_factor</c> to max_lr over the first <c>pct_start</c> of <c>total_steps</c>, then falls to
/// max_lr/<c>div_factor</c>/<c>final_div_factor</c>; with <c>three_phase</c> it first comes back down symmetrically to
/// the start value and only then anneals to the minimum. With <c>cycle_momentum</c> the momentum moves the opposite
/// way between <c>max_momentum</c> and <c>base_momentum</c>: SGD's <c>momentum</c>, or β₁ of an optimizer with
/// <c>betas</c> (Adam, AdamW), is overwritten in every group at each step, as in PyTorch.
/// </summary>
/// <remarks>
/// <para>zh320's <c>cos_warmup</c> policy is <c>new OneCycleLR(opt, max_lr: lr, total_steps: total_itrs,
/// pct_start: (double)warmup_epochs / total_epoch)</c> with every other argument at its default (start at max/25,
/// cosine up, cosine down to max/25/1e4, momentum 0.95 → 0.85 → 0.95), stepped every iteration; its <c>linear</c>
/// policy is the same with <c>pct_start: 0</c> and <c>anneal_strategy: AnnealStrategy.Linear</c>.</para>
/// <para>Construction stores <c>initial_lr</c>, <c>max_lr</c>, <c>min_lr</c> and, with momentum cycling,
/// <c>max_momentum</c> and <c>base_momentum</c> in each group, so they travel with the optimizer's state dict. The
/// scheduler's state dict follows PyTorch's except that the annealing function (PyTorch's <c>anneal_func</c>, a
/// bound method) is left out: a resumed scheduler takes it from its constructor.</para>
/// </remarks>
public sealed class OneCycleLR : optim.lr_scheduler.LRScheduler
{
    private sealed record Phase(double EndStep, bool EndStepIsInt, string StartLr, string EndLr, string StartMomentum, string EndMomentum);

    private Phase[] _phases;
    private readonly AnnealStrategy _anneal;

    /// <summary>One maximum learning rate for all groups. Give <paramref name="total_steps"/>, or
    /// <paramref name="epochs"/> and <paramref name="steps_per_epoch"/> (−1 means not given).</summary>
    public OneCycleLR(optim.Optimizer optimizer, double max_lr, int total_steps = -1, int epochs = -1, int steps_per_epoch = -1,
        double pct_start = 0.3, AnnealStrategy anneal_strategy = AnnealStrategy.Cos, bool cycle_momentum = true,
        double base_momentum = 0.85, double max_momentum = 0.95, double div_factor = 25, double final_div_factor = 1e4,
        bool three_phase = false, int last_epoch = -1)
        : this(optimizer, Enumerable.Repeat(max_lr, (optimizer ?? throw new ArgumentNullException(nameof(optimizer))).param_groups.Count),
            total_steps, epochs, steps_per_epoch, pct_start, anneal_strategy, cycle_momentum, base_momentum, max_momentum, div_factor,
            final_div_factor, three_phase, last_epoch)
    {
    }

    /// <summary>One maximum learning rate per group.</summary>
    public OneCycleLR(optim.Optimizer optimizer, IEnumerable<double> max_lr, int total_steps = -1, int epochs = -1, int steps_per_epoch = -1,
        double pct_start = 0.3, AnnealStrategy anneal_strategy = AnnealStrategy.Cos, bool cycle_momentum = true,
        double base_momentum = 0.85, double max_momentum = 0.95, double div_factor = 25, double final_div_factor = 1e4,
        bool three_phase = false, int last_epoch = -1) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(max_lr);
        var groups = optimizer.param_groups;
        var maxLrs = max_lr.ToArray();
        if (maxLrs.Length != groups.Count)
            throw new ArgumentException($"expected {groups.Count} values for max_lr, got {maxLrs.Length}", nameof(max_lr));

        if (total_steps != -1)
        {
            if (total_steps <= 0) throw new ArgumentOutOfRangeException(nameof(total_steps), total_steps, "Expected positive integer total_steps");
            this.total_steps = total_steps;
        }
        else
        {
            if (epochs == -1 && steps_per_epoch == -1)
                throw new ArgumentException("You must define either total_steps OR (epochs AND steps_per_epoch)");
            if (epochs <= 0) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "Expected positive integer epochs");
            if (steps_per_epoch <= 0) throw new ArgumentOutOfRangeException(nameof(steps_per_epoch), steps_per_epoch, "Expected positive integer steps_per_epoch");
            this.total_steps = epochs * steps_per_epoch;
        }
        if (!(pct_start >= 0 && pct_start <= 1))
            throw new ArgumentOutOfRangeException(nameof(pct_start), pct_start, "Expected float between 0 and 1 pct_start");

        int t = this.total_steps;
        _phases = three_phase
            ? new[]
            {
                new Phase(pct_start * t - 1, false, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                new Phase(2 * pct_start * t - 2, false, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                new Phase(t - 1, true, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            }
            : new[]
            {
                new Phase(pct_start * t - 1, false, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                new Phase(t - 1, true, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            };
        _anneal = anneal_strategy;

        if (last_epoch == -1)
        {
            for (int i = 0; i < groups.Count; i++)
            {
                var group = groups[i];
                group["initial_lr"] = maxLrs[i] / div_factor;
                group["max_lr"] = maxLrs[i];
                group["min_lr"] = group.GetDouble("initial_lr") / final_div_factor;
            }
        }

        this.cycle_momentum = cycle_momentum;
        if (cycle_momentum)
        {
            if (!optimizer.defaults.ContainsKey("momentum") && !optimizer.defaults.ContainsKey("betas"))
                throw new ArgumentException("optimizer must support momentum with `cycle_momentum` option enabled", nameof(optimizer));
            use_beta1 = optimizer.defaults.ContainsKey("betas");
            if (last_epoch == -1)
            {
                foreach (var group in groups)
                {
                    SetMomentum(group, max_momentum);
                    group["max_momentum"] = max_momentum;
                    group["base_momentum"] = base_momentum;
                }
            }
        }
        Initialize(last_epoch);
    }

    /// <summary>The number of steps in the cycle.</summary>
    public int total_steps { get; private set; }

    /// <summary>The annealing between phase end points.</summary>
    public AnnealStrategy anneal_strategy => _anneal;

    /// <summary>Whether momentum (or β₁) is cycled.</summary>
    public bool cycle_momentum { get; private set; }

    /// <summary>Whether the cycled momentum is β₁ of <c>betas</c> rather than <c>momentum</c>.</summary>
    public bool use_beta1 { get; private set; }

    private void SetMomentum(optim.ParamGroup group, double momentum)
    {
        if (use_beta1)
        {
            var betas = OptionValues.ToList(group["betas"], "option 'betas'");
            var updated = new object?[betas.Count];
            updated[0] = momentum;
            for (int k = 1; k < betas.Count; k++) updated[k] = betas[k];
            group["betas"] = updated;
        }
        else
        {
            group["momentum"] = momentum;
        }
    }

    private double Anneal(double start, double end, double pct)
    {
        if (_anneal == AnnealStrategy.Linear) return (end - start) * pct + start;
        double cosOut = Math.Cos(Math.PI * pct) + 1;
        return end + (start - end) / 2.0 * cosOut;
    }

    /// <inheritdoc />
    protected override double[] get_lr()
    {
        int stepNum = last_epoch;
        if (stepNum > total_steps)
            throw new InvalidOperationException($"Tried to step {stepNum + 1} times. The specified number of total steps is {total_steps}");
        var groups = optimizer.param_groups;
        var lrs = new double[groups.Count];
        for (int g = 0; g < groups.Count; g++)
        {
            var group = groups[g];
            double startStep = 0;
            double lr = 0, momentum = 0;
            for (int i = 0; i < _phases.Length; i++)
            {
                var phase = _phases[i];
                if (stepNum <= phase.EndStep || i == _phases.Length - 1)
                {
                    double pct = (stepNum - startStep) / (phase.EndStep - startStep);
                    lr = Anneal(group.GetDouble(phase.StartLr), group.GetDouble(phase.EndLr), pct);
                    if (cycle_momentum) momentum = Anneal(group.GetDouble(phase.StartMomentum), group.GetDouble(phase.EndMomentum), pct);
                    break;
                }
                startStep = phase.EndStep;
            }
            lrs[g] = lr;
            if (cycle_momentum) SetMomentum(group, momentum);
        }
        return lrs;
    }

    /// <inheritdoc />
    protected override void WriteOwnState(Dictionary<string, object?> state)
    {
        state["total_steps"] = (long)total_steps;
        state["_schedule_phases"] = _phases.Select(p => (object?)new Dictionary<string, object?>
        {
            ["end_step"] = p.EndStepIsInt ? (object)(long)p.EndStep : p.EndStep,
            ["start_lr"] = p.StartLr,
            ["end_lr"] = p.EndLr,
            ["start_momentum"] = p.StartMomentum,
            ["end_momentum"] = p.EndMomentum,
        }).ToList();
        state["cycle_momentum"] = cycle_momentum;
        if (cycle_momentum) state["use_beta1"] = use_beta1;
    }

    /// <inheritdoc />
    protected override void ReadOwnState(Dictionary<string, object?> state)
    {
        if (state.TryGetValue("total_steps", out var t)) total_steps = OptionValues.ToInt(t, "total_steps");
        if (state.TryGetValue("_schedule_phases", out var p))
        {
            var list = OptionValues.ToList(p, "_schedule_phases");
            var phases = new Phase[list.Count];
            for (int i = 0; i < phases.Length; i++)
            {
                if (list[i] is not IDictionary d) throw new InvalidCastException($"_schedule_phases[{i}] must be a dictionary");
                string Name(string key) => d[key] as string ?? throw new InvalidCastException($"_schedule_phases[{i}]['{key}'] must be a string");
                var end = d["end_step"];
                phases[i] = new Phase(OptionValues.ToDouble(end, $"_schedule_phases[{i}]['end_step']"), end is long or int,
                    Name("start_lr"), Name("end_lr"), Name("start_momentum"), Name("end_momentum"));
            }
            if (phases.Length == 0) throw new ArgumentException("_schedule_phases is empty");
            _phases = phases;
        }
        if (state.TryGetValue("cycle_momentum", out var c)) cycle_momentum = OptionValues.ToBool(c, "cycle_momentum");
        if (state.TryGetValue("use_beta1", out var b)) use_beta1 = OptionValues.ToBool(b, "use_beta1");
    }
}
