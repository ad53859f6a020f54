namespace FastSeg.Torch;

/// <summary>
/// Collects the tensors created on this thread while it is the innermost open scope, and disposes them all when it
/// is disposed, so a loop body frees its temporaries deterministically (TorchSharp's <c>DisposeScope</c>). Results
/// that must outlive the scope are moved out with <see cref="torch.Tensor.MoveToOuterDisposeScope"/> or
/// <see cref="MoveToOuter{T}(T)"/>.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? t_current;

    // Created on first use: many scopes (one per loop iteration) track only a handful of tensors, or none.
    private HashSet<IDisposable>? _items;
    private bool _disposed;

    internal DisposeScope()
    {
        Outer = t_current;
        t_current = this;
    }

    /// <summary>The innermost open scope of this thread, or null.</summary>
    public static DisposeScope? Current => t_current;

    /// <summary>The scope that was current when this one was opened.</summary>
    public DisposeScope? Outer { get; }

    /// <summary>How many objects this scope will dispose.</summary>
    public int DisposablesCount => _items?.Count ?? 0;

    internal void Add(IDisposable item)
    {
        if (!_disposed) (_items ??= new HashSet<IDisposable>(ReferenceEqualityComparer.Instance)).Add(item);
    }

    internal bool Remove(IDisposable item) => _items?.Remove(item) ?? false;

    /// <summary>Moves <paramref name="item"/> to the outer scope (or detaches it when there is none) and returns it.</summary>
    public T MoveToOuter<T>(T item) where T : IDisposable
    {
        if (_items?.Remove(item) == true)
        {
            if (item is torch.Tensor t) t.OwningScope = Outer;
            Outer?.Add(item);
        }
        return item;
    }

    /// <summary>Moves several items to the outer scope.</summary>
    public void MoveToOuter(params IDisposable[] items)
    {
        foreach (var item in items) MoveToOuter(item);
    }

    /// <summary>Stops tracking <paramref name="item"/>: neither this nor any other scope will dispose it.</summary>
    public T Detach<T>(T item) where T : IDisposable
    {
        if (_items?.Remove(item) == true && item is torch.Tensor t) t.OwningScope = null;
        return item;
    }

    /// <summary>Disposes everything tracked so far but keeps the scope open.</summary>
    public void DisposeEverything()
    {
        if (_items is null || _items.Count == 0) return;
        // Detaching before disposing means no item calls back into Remove, so the set can be walked directly.
        foreach (var item in _items)
        {
            if (item is torch.Tensor t) t.OwningScope = null;
            item.Dispose();
        }
        _items.Clear();
    }

    /// <summary>Disposes everything tracked except <paramref name="keep"/>, which stay in this scope.</summary>
    public void DisposeEverythingBut(params IDisposable[] keep)
    {
        if (_items is null) return;
        var kept = new HashSet<IDisposable>(keep, ReferenceEqualityComparer.Instance);
        var victims = _items.Where(i => !kept.Contains(i)).ToList();
        foreach (var item in victims)
        {
            _items.Remove(item);
            if (item is torch.Tensor t) t.OwningScope = null;
            item.Dispose();
        }
    }

    /// <summary>Disposes every tracked object and makes the outer scope current again.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        DisposeEverything();
        _disposed = true;
        // Scopes are meant to end in reverse order; if one ends early, the thread's current scope becomes the nearest
        // one still open, so later tensors never land in a disposed scope.
        var current = t_current;
        while (current is not null && current._disposed) current = current.Outer;
        t_current = current;
    }
}

public static partial class torch
{
    /// <summary>Opens a dispose scope on this thread: tensors created until it is disposed are disposed with it.</summary>
    public static DisposeScope NewDisposeScope() => new();
}
