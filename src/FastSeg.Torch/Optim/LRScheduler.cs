using FastSeg.Torch.Optim;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class optim
    {
        public static partial class lr_scheduler
        {
            /// <summary>
            /// The base of the learning-rate schedulers (PyTorch 1.13's <c>_LRScheduler</c>). A scheduler advances one
            /// step per call of <see cref="step"/> (call it after <c>optimizer.step()</c>; per iteration or per epoch as
            /// you choose) and writes each group's new <c>lr</c> into the optimizer. Construction performs the first
            /// step, so <see cref="last_epoch"/> is 0 and the groups hold the schedule's first value afterwards.
            /// </summary>
            /// <remarks>
            /// Like PyTorch's, most schedulers are "chainable": each step scales the group's current <c>lr</c>, so the
            /// values match PyTorch's to the last bit. The first construction on an optimizer stores each group's
            /// <c>initial_lr</c>; <see cref="base_lrs"/> are read from it. <see cref="state_dict"/> holds the scheduler's
            /// fields under PyTorch's attribute names (<c>last_epoch</c>, <c>_step_count</c>, <c>base_lrs</c>,
            /// <c>_last_lr</c>, ...); to resume, load the optimizer's state dict (which carries the current lr of each
            /// group) and the scheduler's.
            /// </remarks>
            public abstract class LRScheduler
            {
                private double[] _lastLr = Array.Empty<double>();

                /// <summary>Binds the scheduler to <paramref name="optimizer"/>. Derived constructors set their own
                /// fields and then call <see cref="Initialize"/>.</summary>
                protected LRScheduler(Optimizer optimizer)
                {
                    ArgumentNullException.ThrowIfNull(optimizer);
                    this.optimizer = optimizer;
                }

                /// <summary>The optimizer whose learning rates this scheduler sets.</summary>
                public Optimizer optimizer { get; }

                /// <summary>The index of the current step (0 right after construction).</summary>
                public int last_epoch { get; protected internal set; }

                /// <summary>Each group's <c>initial_lr</c>, the value the schedule scales.</summary>
                public IReadOnlyList<double> base_lrs { get; protected set; } = Array.Empty<double>();

                /// <summary>How many times the scheduler has stepped, construction included (PyTorch's <c>_step_count</c>).</summary>
                protected internal int step_count { get; protected set; }

                /// <summary>
                /// PyTorch's base constructor: records <c>initial_lr</c> in each group (when <paramref name="last_epoch"/>
                /// is -1; a resuming scheduler requires it to be there), reads <see cref="base_lrs"/> and takes the first step.
                /// </summary>
                protected void Initialize(int last_epoch)
                {
                    var groups = optimizer.param_groups;
                    if (last_epoch == -1)
                    {
                        foreach (var group in groups) group.SetDefault("initial_lr", group.lr);
                    }
                    else
                    {
                        for (int i = 0; i < groups.Count; i++)
                            if (!groups[i].ContainsKey("initial_lr"))
                                throw new KeyNotFoundException($"param 'initial_lr' is not specified in param_groups[{i}] when resuming an optimizer");
                    }
                    base_lrs = groups.Select(g => g.GetDouble("initial_lr")).ToArray();
                    this.last_epoch = last_epoch;
                    InitialStep();
                }

                /// <summary>Resets the step count and takes a step (PyTorch's <c>_initial_step</c>).</summary>
                internal void InitialStep()
                {
                    step_count = 0;
                    step();
                }

                /// <summary>Advances the schedule by one step and writes the new learning rates into the optimizer.</summary>
                public virtual void step()
                {
                    step_count++;
                    last_epoch++;
                    Apply(get_lr());
                }

                /// <summary>Jumps to <paramref name="epoch"/> using the closed form when the scheduler has one (PyTorch's
                /// deprecated <c>step(epoch)</c>, which <see cref="FastSeg.Torch.Optim.SequentialLR"/> relies on).</summary>
                internal void StepTo(int epoch)
                {
                    step_count++;
                    last_epoch = epoch;
                    Apply(closed_form_lr() ?? get_lr());
                }

                private void Apply(double[] values)
                {
                    var groups = optimizer.param_groups;
                    if (values.Length != groups.Count)
                        throw new InvalidOperationException($"the scheduler computed {values.Length} learning rate(s) for {groups.Count} parameter group(s)");
                    for (int i = 0; i < groups.Count; i++) groups[i].lr = values[i];
                    _lastLr = groups.Select(g => g.lr).ToArray();
                }

                /// <summary>The learning rates at <see cref="last_epoch"/>, one per group, computed from the groups' current
                /// values (PyTorch's chainable form).</summary>
                protected abstract double[] get_lr();

                /// <summary>The learning rates at <see cref="last_epoch"/> from <see cref="base_lrs"/> alone, or null when
                /// the scheduler has no closed form.</summary>
                protected virtual double[]? closed_form_lr() => null;

                /// <summary>The learning rate of each group as last set by this scheduler.</summary>
                public IReadOnlyList<double> get_last_lr() => _lastLr.ToArray();

                /// <summary>Sets the value <see cref="get_last_lr"/> reports.</summary>
                protected void SetLastLr(IEnumerable<double> values) => _lastLr = values.ToArray();

                /// <summary>
                /// The scheduler's state under PyTorch's attribute names and value types (ints as long, floats as double,
                /// lists as <c>List&lt;object?&gt;</c>), in PyTorch's order: the scheduler's own fields, then
                /// <c>base_lrs</c>, <c>last_epoch</c>, <c>verbose</c>, <c>_step_count</c>,
                /// <c>_get_lr_called_within_step</c> and <c>_last_lr</c>.
                /// </summary>
                public virtual Dictionary<string, object?> state_dict()
                {
                    var d = new Dictionary<string, object?>();
                    WriteOwnState(d);
                    d["base_lrs"] = base_lrs.Select(x => (object?)x).ToList();
                    d["last_epoch"] = (long)last_epoch;
                    d["verbose"] = false;
                    d["_step_count"] = (long)step_count;
                    d["_get_lr_called_within_step"] = false;
                    d["_last_lr"] = _lastLr.Select(x => (object?)x).ToList();
                    return d;
                }

                /// <summary>Writes the scheduler's own fields (those PyTorch sets before the base constructor).</summary>
                protected virtual void WriteOwnState(Dictionary<string, object?> state)
                {
                }

                /// <summary>
                /// Restores the fields present in <paramref name="state_dict"/> (as from <see cref="state_dict"/> here or from
                /// PyTorch); unknown keys, such as PyTorch's <c>anneal_func</c> or <c>verbose</c>, are ignored. The group
                /// learning rates are not touched: load the optimizer's state dict for those.
                /// </summary>
                public virtual void load_state_dict(Dictionary<string, object?> state_dict)
                {
                    ArgumentNullException.ThrowIfNull(state_dict);
                    int groups = optimizer.param_groups.Count;
                    double[]? baseLrs = null, lastLr = null;
                    if (state_dict.TryGetValue("base_lrs", out var b)) baseLrs = CheckCount(OptionValues.ToDoubles(b, "base_lrs"), groups, "base_lrs");
                    if (state_dict.TryGetValue("_last_lr", out var l)) lastLr = CheckCount(OptionValues.ToDoubles(l, "_last_lr"), groups, "_last_lr");
                    int? lastEpoch = state_dict.TryGetValue("last_epoch", out var e) ? OptionValues.ToInt(e, "last_epoch") : null;
                    int? stepCount = state_dict.TryGetValue("_step_count", out var s) ? OptionValues.ToInt(s, "_step_count") : null;
                    ReadOwnState(state_dict);
                    if (baseLrs is not null) base_lrs = baseLrs;
                    if (lastLr is not null) _lastLr = lastLr;
                    if (lastEpoch is not null) last_epoch = lastEpoch.Value;
                    if (stepCount is not null) step_count = stepCount.Value;
                }

                /// <summary>Reads the scheduler's own fields from a state dict; keys that are absent are left unchanged.</summary>
                protected virtual void ReadOwnState(Dictionary<string, object?> state)
                {
                }

                private static double[] CheckCount(double[] values, int groups, string what) =>
                    values.Length == groups
                        ? values
                        : throw new ArgumentException($"the scheduler state dict's '{what}' has {values.Length} value(s) but the optimizer has {groups} parameter group(s)");

                /// <summary>One value per group: <paramref name="f"/> of each group's current lr.</summary>
                protected double[] FromGroups(Func<double, double> f) => optimizer.param_groups.Select(g => f(g.lr)).ToArray();

                /// <summary>One value per group: <paramref name="f"/> of each base lr.</summary>
                protected double[] FromBase(Func<double, double> f) => base_lrs.Select(f).ToArray();
            }
        }
    }
}
