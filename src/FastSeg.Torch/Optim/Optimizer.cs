using System.Collections;
using FastSeg.Torch.Optim;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class optim
    {
        /// <summary>
        /// The base of every optimizer (PyTorch's <c>torch.optim.Optimizer</c>): parameter groups with per-group
        /// options, per-parameter state, <see cref="step"/>, <see cref="zero_grad"/>, and
        /// <see cref="state_dict"/>/<see cref="load_state_dict"/> in PyTorch's layout, so a state dict can be written
        /// with <c>torch.save</c> and read by Python (and the other way round).
        /// </summary>
        /// <remarks>
        /// <para>The optimizer owns its state tensors (momentum buffers, moment estimates, ...): they belong to no dispose
        /// scope and are freed by <see cref="Dispose()"/>. Updates run under <c>no_grad</c> with in-place operations, each
        /// parameter's temporaries in a dispose scope of their own, so a long training loop stays flat in memory.</para>
        /// <para>State dict layout: <c>"state"</c> maps the parameter index (a <see cref="long"/>, counted over all groups
        /// in order) to a <c>Dictionary&lt;string, object?&gt;</c> of that parameter's state; <c>"param_groups"</c> is a
        /// <c>List&lt;object?&gt;</c> holding one <c>Dictionary&lt;string, object?&gt;</c> per group: every option under
        /// PyTorch's key name, then <c>"params"</c>, a <c>List&lt;object?&gt;</c> of the group's parameter indices.</para>
        /// </remarks>
        public abstract class Optimizer : IDisposable
        {
            private readonly List<ParamGroup> _groups = new();
            private readonly OrderedDictionary<string, object?> _defaults = new();
            private OrderedDictionary<nn.Parameter, OrderedDictionary<string, object?>> _state = NewStateTable();
            private bool _disposed;

            /// <summary>Creates the optimizer with <paramref name="defaults"/> (PyTorch key names, in PyTorch's order)
            /// and adds every group of <paramref name="param_groups"/>.</summary>
            protected Optimizer(IEnumerable<ParamGroup> param_groups, IEnumerable<KeyValuePair<string, object?>> defaults)
            {
                ArgumentNullException.ThrowIfNull(param_groups);
                ArgumentNullException.ThrowIfNull(defaults);
                foreach (var (key, value) in defaults) _defaults[key] = value;
                var groups = param_groups.ToList();
                if (groups.Count == 0) throw new ArgumentException("optimizer got an empty parameter list", nameof(param_groups));
                foreach (var group in groups) add_param_group(group);
            }

            /// <summary>One group holding all of <paramref name="parameters"/>; throws when there are none.</summary>
            protected static IEnumerable<ParamGroup> SingleGroup(IEnumerable<nn.Parameter> parameters)
            {
                ArgumentNullException.ThrowIfNull(parameters);
                var list = parameters.ToList();
                if (list.Count == 0) throw new ArgumentException("optimizer got an empty parameter list", nameof(parameters));
                return new[] { new ParamGroup(list) };
            }

            private static OrderedDictionary<nn.Parameter, OrderedDictionary<string, object?>> NewStateTable() =>
                new(ReferenceEqualityComparer.Instance);

            /// <summary>The default value of every option, under PyTorch's key names.</summary>
            public IReadOnlyDictionary<string, object?> defaults => _defaults;

            /// <summary>The parameter groups, in order.</summary>
            public IReadOnlyList<ParamGroup> param_groups => _groups;

            /// <summary>Every parameter of every group, in order.</summary>
            public IEnumerable<nn.Parameter> parameters() => _groups.SelectMany(g => g.Parameters);

            /// <summary>
            /// Adds a group: options it does not set are taken from <see cref="defaults"/>. A parameter may belong to
            /// one group only.
            /// </summary>
            public void add_param_group(ParamGroup param_group)
            {
                ArgumentNullException.ThrowIfNull(param_group);
                ThrowIfDisposed();
                if (_groups.Contains(param_group)) throw new ArgumentException("this parameter group was already added", nameof(param_group));
                var seen = new HashSet<nn.Parameter>(ReferenceEqualityComparer.Instance);
                foreach (var p in param_group.Parameters)
                {
                    if (!p.is_leaf) throw new ArgumentException("can't optimize a non-leaf Tensor", nameof(param_group));
                    if (!seen.Add(p)) throw new ArgumentException("the parameter group lists the same parameter twice", nameof(param_group));
                }
                foreach (var other in _groups)
                    if (other.Parameters.Any(seen.Contains))
                        throw new ArgumentException("some parameters appear in more than one parameter group", nameof(param_group));
                foreach (var (key, value) in _defaults) param_group.SetDefault(key, OptionValues.CopyContainers(value));
                _groups.Add(param_group);
            }

            /// <summary>
            /// Performs one update of every parameter that has a gradient. When <paramref name="closure"/> is given it
            /// is evaluated first, with gradients enabled, and its loss is returned.
            /// </summary>
            public abstract Tensor? step(Func<Tensor>? closure = null);

            /// <summary>Evaluates <paramref name="closure"/> (if any) with gradients enabled.</summary>
            protected static Tensor? EvaluateClosure(Func<Tensor>? closure)
            {
                if (closure is null) return null;
                using var _ = enable_grad();
                return closure();
            }

            /// <summary>
            /// Clears the gradients of all parameters: sets them to null (the default, as in PyTorch 2), or fills them
            /// with zeros when <paramref name="set_to_none"/> is false.
            /// </summary>
            public void zero_grad(bool set_to_none = true)
            {
                ThrowIfDisposed();
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                foreach (var p in parameters())
                {
                    var g = p.grad;
                    if (g is null) continue;
                    if (set_to_none)
                    {
                        p.grad = null;
                    }
                    else if (g.requires_grad)
                    {
                        var d = g.detach();
                        d.zero_();
                        p.grad = d;
                    }
                    else
                    {
                        g.zero_();
                    }
                }
            }

            /// <summary>
            /// The state of <paramref name="parameter"/>, created empty on first use. Tensors stored in it must be
            /// detached from dispose scopes (see <see cref="Keep"/>): the optimizer owns and disposes them.
            /// </summary>
            protected IDictionary<string, object?> StateOf(nn.Parameter parameter)
            {
                if (!_state.TryGetValue(parameter, out var s))
                {
                    s = new OrderedDictionary<string, object?>();
                    _state[parameter] = s;
                }
                return s;
            }

            /// <summary>Takes <paramref name="tensor"/> out of any dispose scope so it can live in the optimizer's state.</summary>
            protected static Tensor Keep(Tensor tensor) => tensor.DetachFromDisposeScope();

            /// <summary>
            /// The optimizer's state and options in PyTorch's layout (see the class remarks). Tensors are returned as
            /// new <see cref="Tensor"/> objects sharing the state's storage (like PyTorch's references they show later
            /// updates); they belong to the current dispose scope, and disposing them does not affect the optimizer.
            /// Options are copied.
            /// </summary>
            public Dictionary<string, object?> state_dict()
            {
                ThrowIfDisposed();
                var index = new Dictionary<nn.Parameter, long>(ReferenceEqualityComparer.Instance);
                long start = 0;
                var groups = new List<object?>();
                foreach (var g in _groups)
                {
                    var packed = new Dictionary<string, object?>();
                    foreach (var (key, value) in g.Options) packed[key] = OptionValues.CopyContainers(value);
                    var ids = new List<object?>();
                    for (int k = 0; k < g.Parameters.Count; k++)
                    {
                        var p = g.Parameters[k];
                        if (!index.TryGetValue(p, out var id)) index[p] = id = start + k;
                        ids.Add(id);
                    }
                    packed["params"] = ids;
                    start += g.Parameters.Count;
                    groups.Add(packed);
                }
                var state = new Dictionary<long, object?>();
                foreach (var (p, s) in _state)
                {
                    if (!index.TryGetValue(p, out var id)) continue;
                    state[id] = s.ToDictionary(kv => kv.Key, kv => AliasTensors(kv.Value));
                }
                return new Dictionary<string, object?> { ["state"] = state, ["param_groups"] = groups };
            }

            private static object? AliasTensors(object? value) => value switch
            {
                Tensor t => t.alias(),
                Dictionary<string, object?> d => d.ToDictionary(kv => kv.Key, kv => AliasTensors(kv.Value)),
                object?[] a => a.Select(AliasTensors).ToArray(),
                List<object?> l => l.Select(AliasTensors).ToList(),
                _ => OptionValues.CopyContainers(value),
            };

            /// <summary>
            /// Restores state and options from <paramref name="state_dict"/> (as made by <see cref="state_dict"/> here or
            /// by PyTorch). The group count and each group's parameter count must match, and each state tensor must have
            /// its parameter's shape, else an <see cref="ArgumentException"/> names the mismatch and nothing changes.
            /// Tensors are copied (floating state converted to the parameter's dtype, <c>step</c> kept as is) and moved
            /// to the parameter's device; each group's options are replaced by the saved ones, as in PyTorch.
            /// </summary>
            public void load_state_dict(Dictionary<string, object?> state_dict)
            {
                ArgumentNullException.ThrowIfNull(state_dict);
                ThrowIfDisposed();
                if (!state_dict.TryGetValue("param_groups", out var groupsValue) || groupsValue is not IList savedGroups)
                    throw new ArgumentException("the optimizer state dict has no 'param_groups' list", nameof(state_dict));
                if (!state_dict.TryGetValue("state", out var stateValue) || stateValue is not IDictionary savedState)
                    throw new ArgumentException("the optimizer state dict has no 'state' dictionary", nameof(state_dict));
                if (savedGroups.Count != _groups.Count)
                    throw new ArgumentException(
                        $"the loaded state dict has {savedGroups.Count} parameter group(s) but the optimizer has {_groups.Count}",
                        nameof(state_dict));

                // Map the saved parameter indices onto this optimizer's parameters, group by group and in order.
                var idMap = new Dictionary<long, (nn.Parameter p, int group, int position)>();
                var savedOptions = new List<List<KeyValuePair<string, object?>>>();
                for (int g = 0; g < _groups.Count; g++)
                {
                    if (savedGroups[g] is not IDictionary saved)
                        throw new ArgumentException($"parameter group {g} of the loaded state dict is not a dictionary", nameof(state_dict));
                    if (!saved.Contains("params") || saved["params"] is not IList ids)
                        throw new ArgumentException($"parameter group {g} of the loaded state dict has no 'params' list", nameof(state_dict));
                    var current = _groups[g].Parameters;
                    if (ids.Count != current.Count)
                        throw new ArgumentException(
                            $"parameter group {g} of the loaded state dict has {ids.Count} parameter(s) but the optimizer's group {g} has {current.Count}",
                            nameof(state_dict));
                    for (int k = 0; k < ids.Count; k++)
                        idMap[OptionValues.ToLong(ids[k], $"param_groups[{g}]['params'][{k}]")] = (current[k], g, k);
                    var options = new List<KeyValuePair<string, object?>>();
                    foreach (DictionaryEntry e in saved)
                    {
                        if (e.Key is not string key)
                            throw new ArgumentException($"parameter group {g} of the loaded state dict has a non-string key {OptionValues.Describe(e.Key)}", nameof(state_dict));
                        if (key != "params") options.Add(new(key, e.Value));
                    }
                    savedOptions.Add(options);
                }

                var created = new List<Tensor>();
                var newState = NewStateTable();
                try
                {
                    using var _ = no_grad();
                    foreach (DictionaryEntry e in savedState)
                    {
                        long id = OptionValues.ToLong(e.Key, "a state key");
                        if (!idMap.TryGetValue(id, out var target))
                            throw new ArgumentException($"the loaded state dict has state for parameter {id}, which no parameter group lists", nameof(state_dict));
                        if (e.Value is not IDictionary entries)
                            throw new ArgumentException($"the state of parameter {id} is not a dictionary", nameof(state_dict));
                        var s = new OrderedDictionary<string, object?>();
                        foreach (DictionaryEntry entry in entries)
                        {
                            if (entry.Key is not string key)
                                throw new ArgumentException($"the state of parameter {id} has a non-string key {OptionValues.Describe(entry.Key)}", nameof(state_dict));
                            s[key] = CopyStateValue(target.p, key, entry.Value, created,
                                $"state '{key}' of parameter {id} (group {target.group}, position {target.position})");
                        }
                        newState[target.p] = s;
                    }
                }
                catch
                {
                    foreach (var t in created) t.Dispose();
                    throw;
                }

                DisposeState();
                _state = newState;
                for (int g = 0; g < _groups.Count; g++)
                {
                    _groups[g].ReplaceOptions(savedOptions[g]);
                    foreach (var (key, value) in _defaults) _groups[g].SetDefault(key, OptionValues.CopyContainers(value));
                }
            }

            private static object? CopyStateValue(nn.Parameter p, string key, object? value, List<Tensor> created, string what)
            {
                switch (value)
                {
                    case Tensor t:
                    {
                        if (key != "step" && t.dim() > 0 && !t.shape.SequenceEqual(p.shape))
                            throw new ArgumentException(
                                $"{what} has shape {Tensor.ShapeString(t.shape)} but the parameter has shape {Tensor.ShapeString(p.shape)}");
                        // As in PyTorch: state follows the parameter's floating dtype and device, except the step count.
                        using var detached = t.detach();
                        var copy = key == "step"
                            ? detached.to(null, null, copy: true)
                            : detached.to(is_floating_point(p.dtype) ? p.dtype : null, p.device, copy: true);
                        created.Add(copy);
                        return Keep(copy);
                    }
                    case IDictionary d:
                    {
                        var result = new Dictionary<string, object?>();
                        foreach (DictionaryEntry e in d)
                        {
                            var k = e.Key as string ?? Convert.ToString(e.Key, System.Globalization.CultureInfo.InvariantCulture) ?? "";
                            result[k] = CopyStateValue(p, k, e.Value, created, $"{what}['{k}']");
                        }
                        return result;
                    }
                    case object?[] a:
                        return a.Select((x, k) => CopyStateValue(p, "", x, created, $"{what}[{k}]")).ToArray();
                    case IList l:
                        return l.Cast<object?>().Select((x, k) => CopyStateValue(p, "", x, created, $"{what}[{k}]")).ToList();
                    default:
                        return value;
                }
            }

            private void DisposeState()
            {
                foreach (var s in _state.Values)
                    foreach (var value in s.Values)
                        DisposeTensors(value);
                _state.Clear();
            }

            private static void DisposeTensors(object? value)
            {
                switch (value)
                {
                    case Tensor t:
                        t.Dispose();
                        break;
                    case IDictionary d:
                        foreach (var v in d.Values) DisposeTensors(v);
                        break;
                    case IList l:
                        foreach (var v in l) DisposeTensors(v);
                        break;
                }
            }

            /// <summary>Throws <see cref="ObjectDisposedException"/> once the optimizer has been disposed.</summary>
            protected void ThrowIfDisposed()
            {
                if (_disposed) throw new ObjectDisposedException(GetType().Name);
            }

            /// <summary>Frees the state tensors. The parameters are not touched.</summary>
            public void Dispose()
            {
                Dispose(true);
                GC.SuppressFinalize(this);
            }

            /// <summary>Frees the state tensors when <paramref name="disposing"/>.</summary>
            protected virtual void Dispose(bool disposing)
            {
                if (_disposed) return;
                _disposed = true;
                if (disposing) DisposeState();
            }
        }
    }
}
