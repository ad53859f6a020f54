using System.Collections;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Optim;

/// <summary>
/// Multiplies each group's learning rate by <see cref="gamma"/> at each milestone step (by gamma^k when a milestone is
/// listed k times).
/// </summary>
/// <remarks>In the state dict, <c>milestones</c> is PyTorch's <c>Counter</c> written as a
/// <c>Dictionary&lt;long, object?&gt;</c> from milestone to count (long), in first-listed order.</remarks>
public sealed class MultiStepLR : optim.lr_scheduler.LRScheduler
{
    private OrderedDictionary<int, int> _milestones = new();

    /// <summary>Creates the scheduler and takes its first step.</summary>
    public MultiStepLR(optim.Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1, int last_epoch = -1) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        foreach (var m in milestones) _milestones[m] = _milestones.TryGetValue(m, out var c) ? c + 1 : 1;
        this.gamma = gamma;
        Initialize(last_epoch);
    }

    /// <summary>The milestones and how many times each is listed.</summary>
    public IReadOnlyDictionary<int, int> milestones => _milestones;

    /// <summary>The decay factor.</summary>
    public double gamma { get; private set; }

    /// <inheritdoc />
    protected override double[] get_lr() =>
        _milestones.TryGetValue(last_epoch, out var count)
            ? FromGroups(lr => lr * Math.Pow(gamma, count))
            : FromGroups(lr => lr);

    /// <inheritdoc />
    protected override double[]? closed_form_lr()
    {
        int passed = _milestones.Where(kv => kv.Key <= last_epoch).Sum(kv => kv.Value);
        return FromBase(b => b * Math.Pow(gamma, passed));
    }

    /// <inheritdoc />
    protected override void WriteOwnState(Dictionary<string, object?> state)
    {
        state["milestones"] = _milestones.ToDictionary(kv => (long)kv.Key, kv => (object?)(long)kv.Value);
        state["gamma"] = gamma;
    }

    /// <inheritdoc />
    protected override void ReadOwnState(Dictionary<string, object?> state)
    {
        if (state.TryGetValue("milestones", out var m))
        {
            var loaded = new OrderedDictionary<int, int>();
            switch (m)
            {
                case IDictionary counter:
                    foreach (DictionaryEntry e in counter)
                        loaded[OptionValues.ToInt(e.Key, "a milestone")] = OptionValues.ToInt(e.Value, "a milestone count");
                    break;
                case IList list:
                    foreach (var x in list)
                    {
                        int k = OptionValues.ToInt(x, "a milestone");
                        loaded[k] = loaded.TryGetValue(k, out var c) ? c + 1 : 1;
                    }
                    break;
                default:
                    throw new InvalidCastException($"milestones must be a dictionary or a list, but it is {OptionValues.Describe(m)}");
            }
            _milestones = loaded;
        }
        if (state.TryGetValue("gamma", out var g)) gamma = OptionValues.ToDouble(g, "gamma");
    }
}
