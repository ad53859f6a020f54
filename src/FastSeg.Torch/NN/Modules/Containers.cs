using System.Collections;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Torch.Modules;

/// <summary>Runs its modules in order, each on the previous one's output. State-dict keys are "0", "1", ... (or given names).</summary>
public sealed class Sequential : Module<Tensor, Tensor>, IEnumerable<Module<Tensor, Tensor>>
{
    private readonly List<Module<Tensor, Tensor>> _layers = new();
    private readonly List<string> _names = new();

    internal Sequential(IEnumerable<(string name, Module<Tensor, Tensor> module)> modules) : base(nameof(Sequential))
    {
        foreach (var (name, module) in modules) append(name, module);
    }

    /// <summary>Adds a module under the next index.</summary>
    public Sequential append(Module<Tensor, Tensor> module) => append(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);

    /// <summary>Adds a module under <paramref name="name"/>.</summary>
    public Sequential append(string name, Module<Tensor, Tensor> module)
    {
        register_module(name, module);
        _layers.Add(module);
        _names.Add(name);
        return this;
    }

    /// <summary>Number of modules.</summary>
    public int Count => _layers.Count;

    /// <summary>The module at <paramref name="index"/>; setting replaces it in place (same key, same position).</summary>
    public Module<Tensor, Tensor> this[int index]
    {
        get => _layers[index];
        set => register_module(_names[index], value);
    }

    /// <inheritdoc />
    protected override void OnSubmoduleReplaced(string name, Module? module)
    {
        int index = _names.IndexOf(name);
        if (index < 0) return;
        _layers[index] = module as Module<Tensor, Tensor>
            ?? throw new ArgumentException($"Sequential entry '{name}' must be a Module<Tensor, Tensor>", nameof(module));
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (_layers.Count == 0) return input.alias();
        var x = _layers[0].call(input);
        for (int k = 1; k < _layers.Count; k++)
        {
            var next = _layers[k].call(x);
            if (!ReferenceEquals(next, x)) x.Dispose();
            x = next;
        }
        return x;
    }

    /// <inheritdoc />
    public IEnumerator<Module<Tensor, Tensor>> GetEnumerator() => _layers.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Holds modules in a list (keys "0", "1", ...); it has no forward of its own.</summary>
public sealed class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
{
    private readonly List<T> _items = new();

    internal ModuleList(IEnumerable<T> modules) : base("ModuleList")
    {
        foreach (var m in modules) append(m);
    }

    /// <summary>Adds a module at the end.</summary>
    public ModuleList<T> append(T module)
    {
        register_module(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        _items.Add(module);
        return this;
    }

    /// <summary>The module at <paramref name="index"/>; setting replaces it in place (same key).</summary>
    public T this[int index]
    {
        get => _items[index];
        set
        {
            register_module(index.ToString(System.Globalization.CultureInfo.InvariantCulture), value);
            _items[index] = value;
        }
    }

    /// <summary>Number of modules.</summary>
    public int Count => _items.Count;

    /// <inheritdoc />
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Holds modules by name, in insertion order; it has no forward of its own.</summary>
public sealed class ModuleDict<T> : Module, IEnumerable<KeyValuePair<string, T>> where T : Module
{
    private readonly List<KeyValuePair<string, T>> _items = new();

    internal ModuleDict(IEnumerable<(string name, T module)> modules) : base("ModuleDict")
    {
        foreach (var (name, module) in modules) this[name] = module;
    }

    /// <summary>The module named <paramref name="name"/>; setting adds it or replaces it in place.</summary>
    public T this[string name]
    {
        get => _items.First(e => e.Key == name).Value;
        set
        {
            register_module(name, value);
            int i = _items.FindIndex(e => e.Key == name);
            if (i >= 0) _items[i] = new(name, value);
            else _items.Add(new(name, value));
        }
    }

    /// <summary>Whether a module is named <paramref name="name"/>.</summary>
    public bool ContainsKey(string name) => _items.Any(e => e.Key == name);

    /// <summary>Number of modules.</summary>
    public int Count => _items.Count;

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, T>> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
