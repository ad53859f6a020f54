using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Ema;

/// <summary>
/// An exponential moving average of a model's whole state dict (parameters and buffers, batch-norm running statistics
/// included), after the reference's <c>ModelEmaV2</c>. Each <see cref="Update"/> after an optimiser step sets every
/// floating-point entry to d·ema + (1 − d)·model with d = clamp(iteration / total iterations, 0, 1): the average follows
/// the model closely early in training and freezes towards the end (d = 1 from the last iteration on). Disabled, it
/// simply copies the model, as the reference does without <c>use_ema</c> (validation then runs on the copy).
/// </summary>
/// <remarks>
/// <para>Integer entries (batch norm's <c>num_batches_tracked</c>) are copied from the model. The reference blends them
/// too and truncates the result back to an integer, so its counter lags behind; it only matters to batch norm with
/// momentum=None, which no zoo network uses.</para>
/// <para>Entries are paired by name (the reference pairs them by position), and the average lives in its own tensors,
/// not in a second model: <see cref="CopyTo"/> loads it into a network for validation, and <see cref="state_dict"/>
/// gives it for the best-model checkpoint.</para>
/// </remarks>
public sealed class ModelEma : IDisposable
{
    private readonly Dictionary<string, Tensor> _state = new();
    private readonly List<string> _order = new();

    /// <summary>Starts the average at <paramref name="model"/>'s current state (make it after loading a checkpoint, as the reference does).</summary>
    /// <param name="model">The network being trained.</param>
    /// <param name="totalIterations">Training iterations in all (the decay reaches 1 there).</param>
    /// <param name="enabled">Average (the reference's <c>use_ema</c>) or just copy the model at each update.</param>
    /// <param name="device">Where to keep the average; null for where the model's tensors are.</param>
    public ModelEma(nn.Module model, long totalIterations, bool enabled = true, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (totalIterations < 1) throw new ArgumentOutOfRangeException(nameof(totalIterations), totalIterations, "must be at least 1");
        TotalIterations = totalIterations;
        Enabled = enabled;
        Device = device;
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            foreach (var (name, value) in model.state_dict())
            {
                var copy = (device is null ? value.detach().clone() : value.detach().to(null, device, copy: true)).DetachFromDisposeScope();
                _state[name] = copy;
                _order.Add(name);
            }
        }
    }

    /// <summary>Training iterations in all.</summary>
    public long TotalIterations { get; }

    /// <summary>Whether updates average (true) or copy (false).</summary>
    public bool Enabled { get; }

    /// <summary>Where the average is kept (null: with the model's tensors).</summary>
    public Device? Device { get; }

    /// <summary>The decay at <paramref name="iteration"/>: clamp(iteration / total, 0, 1).</summary>
    public static double DecayAt(long iteration, long totalIterations) =>
        Math.Clamp((double)iteration / totalIterations, 0.0, 1.0);

    /// <summary>The decay this average uses at <paramref name="iteration"/>.</summary>
    public double Decay(long iteration) => DecayAt(iteration, TotalIterations);

    /// <summary>
    /// Folds the model's current state in, after an optimiser step. <paramref name="iteration"/> counts optimiser steps
    /// from 1 (the reference increments its counter before the step, so the first update uses 1 / total).
    /// </summary>
    public void Update(nn.Module model, long iteration)
    {
        ArgumentNullException.ThrowIfNull(model);
        var source = model.state_dict();
        if (source.Count != _state.Count || _order.Any(k => !source.ContainsKey(k)))
        {
            var missing = _order.Where(k => !source.ContainsKey(k)).Take(5);
            var extra = source.Keys.Where(k => !_state.ContainsKey(k)).Take(5);
            throw new ArgumentException($"the model's state does not match the average's (missing: {string.Join(", ", missing)}; " +
                $"unexpected: {string.Join(", ", extra)})", nameof(model));
        }
        double d = Decay(iteration);
        using var noGrad = no_grad();
        foreach (var name in _order)
        {
            using var scope = NewDisposeScope();
            var ema = _state[name];
            var value = source[name].detach();
            if (!value.device.Equals(ema.device)) value = value.to(ema.device);
            if (!Enabled || !is_floating_point(ema.dtype))
            {
                ema.copy_(value);
                continue;
            }
            // d·ema + (1 − d)·model in the reference's order of operations, so float32 results agree bit for bit.
            ema.copy_(ema.mul(d).add(value.mul(1.0 - d)));
        }
    }

    /// <summary>Loads the average into <paramref name="module"/> (same architecture), e.g. the network used for validation.</summary>
    public void CopyTo(nn.Module module, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        module.load_state_dict(_state, strict);
    }

    /// <summary>
    /// Puts the average into <paramref name="module"/> until the returned object is disposed, which puts the module's
    /// own weights back (validation of the EMA weights in the middle of training). Disabled: changes nothing.
    /// </summary>
    public IDisposable SwapInto(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (!Enabled) return new Restore(null, module);
        var own = module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
        CopyTo(module);
        return new Restore(own, module);
    }

    private sealed class Restore(Dictionary<string, Tensor>? own, nn.Module module) : IDisposable
    {
        public void Dispose()
        {
            if (own is null) return;
            module.load_state_dict(own);
            foreach (var t in own.Values) t.Dispose();
            own = null;
        }
    }

    /// <summary>Restarts the average from <paramref name="model"/>'s state (the reference does so after reloading the best checkpoint).</summary>
    public void Reset(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        load_state_dict(model.state_dict());
    }

    /// <summary>
    /// The average by state-dict key, in the model's order. The tensors are this object's own; clone them to keep them
    /// beyond its life (torch.save writes them as they are).
    /// </summary>
    public Dictionary<string, Tensor> state_dict()
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var name in _order) result[name] = _state[name];
        return result;
    }

    /// <summary>Overwrites the average with <paramref name="state"/> (all keys, same shapes), e.g. from a checkpoint.</summary>
    public void load_state_dict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var missing = _order.Where(k => !state.ContainsKey(k)).ToList();
        var extra = state.Keys.Where(k => !_state.ContainsKey(k)).ToList();
        var shapes = _order.Where(k => state.ContainsKey(k) && !state[k].shape.SequenceEqual(_state[k].shape)).ToList();
        if (missing.Count + extra.Count + shapes.Count > 0)
            throw new StateDictMismatchException(nameof(ModelEma), missing, extra, shapes);
        using var noGrad = no_grad();
        foreach (var name in _order) _state[name].copy_(state[name]);
    }

    /// <summary>Frees the average's tensors.</summary>
    public void Dispose()
    {
        foreach (var t in _state.Values) t.Dispose();
        _state.Clear();
        _order.Clear();
    }
}
