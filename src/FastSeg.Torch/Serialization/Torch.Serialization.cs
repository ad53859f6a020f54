using FastSeg.Torch.Serialization;

namespace FastSeg.Torch;

public static partial class torch
{
    /// <summary>
    /// Saves <paramref name="obj"/> in the zip format of Python's <c>torch.save</c>, which Python's <c>torch.load</c>
    /// (PyTorch 1.6 and later) reads. Values map to Python as follows: <c>null</c> → None; <c>bool</c> → bool;
    /// <c>long</c>/<c>int</c> (and the other integer types) → int; <c>double</c>/<c>float</c> → float; <c>string</c> →
    /// str; <see cref="Tensor"/> → tensor (a <see cref="nn.Parameter"/> → Parameter); <c>object?[]</c> → tuple; other
    /// lists and arrays → list; a string-keyed dictionary of tensors (<c>IReadOnlyDictionary&lt;string, Tensor&gt;</c> or
    /// <c>IDictionary&lt;string, Tensor&gt;</c>, i.e. a state dict) → <c>collections.OrderedDict</c>; any other
    /// dictionary (<c>Dictionary&lt;string, object?&gt;</c>, <c>Dictionary&lt;long, object?&gt;</c>, ...) → dict.
    /// Dictionaries keep their enumeration order. Tensors are saved from the CPU (others are copied there) with the
    /// location tag <c>cpu</c>; tensors sharing memory are saved as views of one storage.
    /// <para>
    /// The file is replaced atomically: the data goes to a temporary file in the same folder, which is renamed over
    /// <paramref name="path"/> only once complete. If saving fails, an existing file is left as it was.
    /// </para>
    /// </summary>
    /// <exception cref="ArgumentException">A value (or dict key) of a type with no Python counterpart.</exception>
    public static void save(object? obj, string path) => CheckpointWriter.Save(obj, path);

    /// <summary>
    /// Loads a checkpoint written by Python's <c>torch.save</c> (zip format, or the legacy format of
    /// <c>_use_new_zipfile_serialization=False</c>) or by <see cref="save"/>. Python values map back as: dict with
    /// only str keys (also OrderedDict, and an empty dict) → <c>Dictionary&lt;string, object?&gt;</c>; dict with only int
    /// keys → <c>Dictionary&lt;long, object?&gt;</c>; other dicts → <c>Dictionary&lt;object, object?&gt;</c> (tuple keys
    /// compare element-wise); list → <c>List&lt;object?&gt;</c>; tuple → <c>object?[]</c>; int → <c>long</c> (a
    /// <see cref="System.Numerics.BigInteger"/> beyond 64 bits); float → <c>double</c>; str → <c>string</c>; bool →
    /// <c>bool</c>; None → <c>null</c>; tensor → <see cref="Tensor"/> on the CPU (Parameter → <see cref="nn.Parameter"/>).
    /// Dictionary enumeration order is the file's order. Tensors that shared a storage share memory again, and views keep
    /// their strides and storage offset. Loaded tensors belong to the current dispose scope, like any new tensor
    /// (parameters, as always, to none).
    /// <para>
    /// The unpickler is safe: it honours only <c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor_v2</c>
    /// (and <c>_rebuild_tensor</c>, <c>_rebuild_parameter</c>, <c>_rebuild_parameter_with_state</c>) and the typed
    /// storage classes (<c>torch.FloatStorage</c>, ...). Any other global throws <see cref="UnsafeCheckpointException"/>
    /// and nothing is executed. Attributes of an OrderedDict (such as the <c>_metadata</c> of
    /// <c>Module.state_dict()</c>) are dropped.
    /// </para>
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file is truncated, corrupt, or not a checkpoint.</exception>
    /// <exception cref="UnsafeCheckpointException">The pickle names a global that is not on the safe list.</exception>
    public static object? load(string path) => CheckpointReader.Load(path);

    /// <summary>
    /// Loads a bare state dict: a checkpoint whose top-level value is a mapping from str to tensors (what Python's
    /// <c>torch.save(model.state_dict(), path)</c> writes). Keys keep the file's order.
    /// </summary>
    /// <exception cref="CheckpointFormatException">
    /// The file cannot be read, or it holds something else (the message says what, e.g. a dict with an
    /// <c>"epoch"</c> entry that is an int); load it with <see cref="load"/> and pick the entry you need.
    /// </exception>
    public static Dictionary<string, Tensor> load_state_dict(string path)
    {
        var value = load(path);
        if (value is Dictionary<string, object?> dict)
        {
            var result = new Dictionary<string, Tensor>(dict.Count);
            string? offender = null;
            foreach (var (key, v) in dict)
            {
                if (v is Tensor t) result[key] = t;
                else
                {
                    offender = key;
                    break;
                }
            }
            if (offender is null) return result;
            var keys = string.Join(", ", dict.Keys.Take(8).Select(k => $"'{k}'")) + (dict.Count > 8 ? ", ..." : "");
            DisposeTensors(value);
            throw new CheckpointFormatException(path,
                $"expected a state dict (str keys, tensor values) but found a dict with keys [{keys}] whose entry " +
                $"'{offender}' is {DescribeLoaded(dict[offender])}; use torch.load and take the entry you need");
        }
        DisposeTensors(value);
        throw new CheckpointFormatException(path,
            $"expected a state dict (str keys, tensor values) but the checkpoint holds {DescribeLoaded(value)}");
    }

    private static string DescribeLoaded(object? v) => v switch
    {
        null => "None",
        bool => "a bool",
        long or System.Numerics.BigInteger => "an int",
        double => "a float",
        string => "a str",
        Tensor => "a tensor",
        object?[] t => $"a tuple of {t.Length}",
        List<object?> l => $"a list of {l.Count}",
        Dictionary<string, object?> d => $"a dict with {d.Count} str key(s)",
        Dictionary<long, object?> d => $"a dict with {d.Count} int key(s)",
        Dictionary<object, object?> d => $"a dict with {d.Count} key(s) of mixed types",
        _ => "a " + v.GetType().Name,
    };

    private static void DisposeTensors(object? v)
    {
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<object?>();
        pending.Push(v);
        while (pending.Count > 0)
        {
            var x = pending.Pop();
            if (x is null || x is string || x.GetType().IsValueType || !seen.Add(x)) continue;
            switch (x)
            {
                case Tensor t: t.Dispose(); break;
                case System.Collections.IDictionary d:
                    foreach (System.Collections.DictionaryEntry e in d)
                    {
                        pending.Push(e.Key);
                        pending.Push(e.Value);
                    }
                    break;
                case System.Collections.IEnumerable items:
                    foreach (var item in items) pending.Push(item);
                    break;
            }
        }
    }
}
