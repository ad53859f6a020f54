using System.Collections;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Optim;

/// <summary>
/// Runs several schedulers one after the other (PyTorch 1.13's <c>SequentialLR</c>): scheduler i drives the
/// learning rate from milestone i − 1 (0 for the first) until milestone i; on reaching a milestone the next scheduler
/// restarts from its own step 0, i.e. from the base learning rate.
/// </summary>
/// <remarks>
/// <para>This is the linear warm-up combinator. All schedulers must be built on the same optimizer, in order, right
/// before the SequentialLR. For W warm-up steps out of T in all:</para>
/// <para>Poly with warm-up: <c>new SequentialLR(opt, new LRScheduler[] { new LinearLR(opt, start_factor: f,
/// total_iters: W), new PolynomialLR(opt, total_iters: T - W, power: 0.9) }, milestones: new[] { W })</c> gives
/// lr = base·(f + (1 − f)·t/W) for t &lt; W, then base·(1 − (t − W)/(T − W))^0.9.</para>
/// <para>Cosine with warm-up: the same with <c>new CosineAnnealingLR(opt, T_max: T - W)</c> as the second scheduler.
/// zh320's <c>cos_warmup</c> policy is a one-cycle schedule instead: see <see cref="OneCycleLR"/>.</para>
/// </remarks>
public sealed class SequentialLR : optim.lr_scheduler.LRScheduler
{
    private readonly optim.lr_scheduler.LRScheduler[] _schedulers;
    private int[] _milestones;

    /// <summary>Chains <paramref name="schedulers"/>, switching at each of <paramref name="milestones"/> (one fewer than
    /// the schedulers, ascending).</summary>
    public SequentialLR(optim.Optimizer optimizer, IEnumerable<optim.lr_scheduler.LRScheduler> schedulers, IEnumerable<int> milestones,
        int last_epoch = -1) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        _schedulers = schedulers.ToArray();
        _milestones = milestones.ToArray();
        if (_schedulers.Length == 0) throw new ArgumentException("SequentialLR needs at least one scheduler", nameof(schedulers));
        for (int i = 0; i < _schedulers.Length; i++)
        {
            if (_schedulers[i] is null) throw new ArgumentException($"scheduler {i} is null", nameof(schedulers));
            if (!ReferenceEquals(_schedulers[i].optimizer, optimizer))
                throw new ArgumentException(
                    $"Sequential Schedulers expects all schedulers to belong to the same optimizer, but got schedulers at index {i} to be different than the optimizer passed in.",
                    nameof(schedulers));
        }
        if (_milestones.Length != _schedulers.Length - 1)
            throw new ArgumentException(
                $"Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, but got number of schedulers {_schedulers.Length} and the number of milestones to be equal to {_milestones.Length}",
                nameof(milestones));
        for (int i = 1; i < _milestones.Length; i++)
            if (_milestones[i] < _milestones[i - 1]) throw new ArgumentException("milestones must be in ascending order", nameof(milestones));

        this.last_epoch = last_epoch + 1;
        // Undo the first step each scheduler took when it was built, then start the first one again from the base rate.
        foreach (var group in optimizer.param_groups) group.lr = group.GetDouble("initial_lr");
        foreach (var s in _schedulers) s.last_epoch -= 1;
        _schedulers[0].InitialStep();
        SetLastLr(_schedulers[0].get_last_lr());
    }

    /// <summary>The chained schedulers.</summary>
    public IReadOnlyList<optim.lr_scheduler.LRScheduler> schedulers => _schedulers;

    /// <summary>The steps at which the next scheduler takes over.</summary>
    public IReadOnlyList<int> milestones => _milestones;

    /// <inheritdoc />
    public override void step()
    {
        last_epoch++;
        int idx = 0;
        while (idx < _milestones.Length && _milestones[idx] <= last_epoch) idx++;
        var scheduler = _schedulers[idx];
        if (idx > 0 && _milestones[idx - 1] == last_epoch) scheduler.StepTo(0);
        else scheduler.step();
        SetLastLr(scheduler.get_last_lr());
    }

    /// <summary>Not used: the learning rates come from the chained schedulers.</summary>
    protected override double[] get_lr() => FromGroups(lr => lr);

    /// <summary>PyTorch's layout: <c>_milestones</c>, <c>last_epoch</c>, <c>_last_lr</c>, and <c>_schedulers</c>, the
    /// list of the chained schedulers' state dicts.</summary>
    public override Dictionary<string, object?> state_dict() => new()
    {
        ["_milestones"] = _milestones.Select(m => (object?)(long)m).ToList(),
        ["last_epoch"] = (long)last_epoch,
        ["_last_lr"] = get_last_lr().Select(x => (object?)x).ToList(),
        ["_schedulers"] = _schedulers.Select(s => (object?)s.state_dict()).ToList(),
    };

    /// <inheritdoc />
    public override void load_state_dict(Dictionary<string, object?> state_dict)
    {
        ArgumentNullException.ThrowIfNull(state_dict);
        List<Dictionary<string, object?>>? inner = null;
        if (state_dict.TryGetValue("_schedulers", out var s))
        {
            var list = OptionValues.ToList(s, "_schedulers");
            if (list.Count != _schedulers.Length)
                throw new ArgumentException($"the state dict holds {list.Count} scheduler state(s) but this SequentialLR chains {_schedulers.Length}");
            inner = list.Cast<object?>().Select((x, i) => ToStringKeyed(x, $"_schedulers[{i}]")).ToList();
        }
        if (state_dict.TryGetValue("_milestones", out var m))
        {
            var loaded = OptionValues.ToList(m, "_milestones").Cast<object?>().Select(x => OptionValues.ToInt(x, "a milestone")).ToArray();
            if (loaded.Length != _milestones.Length)
                throw new ArgumentException($"the state dict holds {loaded.Length} milestone(s) but this SequentialLR has {_milestones.Length}");
            _milestones = loaded;
        }
        if (state_dict.TryGetValue("last_epoch", out var e)) last_epoch = OptionValues.ToInt(e, "last_epoch");
        if (state_dict.TryGetValue("_last_lr", out var l)) SetLastLr(OptionValues.ToDoubles(l, "_last_lr"));
        if (inner is not null)
            for (int i = 0; i < _schedulers.Length; i++) _schedulers[i].load_state_dict(inner[i]);
    }

    private static Dictionary<string, object?> ToStringKeyed(object? value, string what)
    {
        if (value is Dictionary<string, object?> d) return d;
        if (value is not IDictionary any) throw new InvalidCastException($"{what} must be a dictionary, but it is {OptionValues.Describe(value)}");
        var result = new Dictionary<string, object?>();
        foreach (DictionaryEntry entry in any)
            result[entry.Key as string ?? throw new InvalidCastException($"{what} has a non-string key")] = entry.Value;
        return result;
    }
}
