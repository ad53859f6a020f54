using System.IO.Compression;
using System.Numerics;
using System.Text;
using FastSeg.Torch.Interop;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Serialization;

/// <summary>A storage named by a persistent id: a root storage of the file, or (old legacy files) a slice of one.</summary>
internal sealed class StorageRef
{
    public StorageRef(string key, ScalarType dtype, long viewOffset, long numel)
    {
        Key = key;
        DType = dtype;
        ViewOffset = viewOffset;
        Numel = numel;
    }

    public string Key { get; }

    public ScalarType DType { get; }

    /// <summary>Where this storage starts in its root storage, in elements (0 except for legacy storage views).</summary>
    public long ViewOffset { get; }

    /// <summary>Elements visible through this reference.</summary>
    public long Numel { get; }
}

/// <summary>A tensor described by the pickle; it is built once the storages have been read.</summary>
internal sealed class PendingTensor
{
    public required StorageRef Storage { get; init; }
    public required long Offset { get; init; }
    public required long[] Size { get; init; }
    public required long[] Stride { get; init; }
    public required bool RequiresGrad { get; init; }
}

/// <summary>A <c>torch.nn.Parameter</c> described by the pickle.</summary>
internal sealed class PendingParameter
{
    public required PendingTensor Data { get; init; }
    public required bool RequiresGrad { get; init; }
}

/// <summary>
/// Reads checkpoints written by Python's <c>torch.save</c>: the zip format (PyTorch 1.6 and later) and the legacy format
/// (a sequence of pickles followed by raw storages, <c>_use_new_zipfile_serialization=False</c>). The pickles are
/// decoded by <see cref="PickleReader"/> with this class as the host, which implements the safe list of globals
/// (see <see cref="FindGlobal"/>). Tensors are loaded onto the CPU whatever device they were saved from.
/// </summary>
internal sealed class CheckpointReader : IPickleHost
{
    private const int MaxDepth = 1000;
    private static readonly BigInteger LegacyMagic = BigInteger.Parse("119547037146038801333356");
    private const long LegacyProtocolVersion = 1001;

    private static readonly AtenOp SetStorage = new("aten::set_", "source_Tensor_storage_offset");

    // Root storages by key: dtype and element count, as declared by the persistent ids.
    private readonly Dictionary<string, (ScalarType DType, long Numel)> _roots = new();
    private readonly Dictionary<string, Tensor> _storageTensors = new();
    private readonly Dictionary<object, object?> _converted = new(ReferenceEqualityComparer.Instance);
    private readonly List<Tensor> _created = new();

    private CheckpointReader() { }

    /// <summary>Loads <paramref name="path"/>; every problem with the file becomes a <see cref="CheckpointFormatException"/>.</summary>
    public static object? Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
        var reader = new CheckpointReader();
        try
        {
            return reader.LoadFrom(stream);
        }
        catch (ForbiddenGlobalException e)
        {
            reader.DisposeAll();
            throw new UnsafeCheckpointException(path, e.Module, e.Name);
        }
        catch (Exception e) when (e is PickleException or InvalidDataException or EndOfStreamException or TorchException
                                      or FormatException or OverflowException or ArgumentException or InvalidCastException
                                      or IndexOutOfRangeException or NotSupportedException)
        {
            reader.DisposeAll();
            var problem = e is PickleException ? e.Message : $"not a readable PyTorch checkpoint ({e.Message})";
            throw new CheckpointFormatException(path, problem, e);
        }
        catch
        {
            reader.DisposeAll();
            throw;
        }
        finally
        {
            reader.DisposeStorages();
        }
    }

    private object? LoadFrom(FileStream stream)
    {
        Span<byte> head = stackalloc byte[4];
        int n = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        stream.Position = 0;
        if (n == 0) throw new PickleException("the file is empty");
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] is 3 or 5 or 7)
            return LoadZip(stream);
        if (stream.Length > 262)
        {
            Span<byte> ustar = stackalloc byte[5];
            stream.Position = 257;
            stream.ReadExactly(ustar);
            stream.Position = 0;
            if (ustar.SequenceEqual("ustar"u8))
                throw new PickleException("this is a tar-based checkpoint from a very early PyTorch version, which is not supported");
        }
        // Anything else must be the legacy format: a sequence of pickles that starts with torch's magic number.
        return LoadLegacy(stream);
    }

    // ---- zip format -------------------------------------------------------------------------------------------------

    private object? LoadZip(FileStream stream)
    {
        using var zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        var entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        foreach (var e in zip.Entries)
        {
            if (e.CompressedLength > stream.Length)
                throw new PickleException($"record '{e.FullName}' claims {e.CompressedLength} bytes, more than the whole file holds");
            entries.TryAdd(e.FullName, e);
        }
        if (zip.Entries.Count == 0) throw new PickleException("the zip archive is empty");

        // Every record lives under one folder ("archive/" from recent writers, the file's stem from PyTorch 1.x).
        var first = zip.Entries[0].FullName;
        int slash = first.IndexOf('/');
        if (slash <= 0) throw new PickleException($"the zip archive's first record '{first}' is not inside a folder, so it is not a torch.save checkpoint");
        var prefix = first[..(slash + 1)];
        if (!entries.TryGetValue(prefix + "data.pkl", out var pickleEntry))
            throw new PickleException($"the zip archive has no '{prefix}data.pkl' record, so it is not a torch.save checkpoint");
        if (entries.ContainsKey(prefix + "constants.pkl") || entries.Keys.Any(k => k.StartsWith(prefix + "code/", StringComparison.Ordinal)))
            throw new PickleException("this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint");
        if (entries.TryGetValue(prefix + "byteorder", out var order))
        {
            var text = Encoding.ASCII.GetString(ReadSmallEntry(order)).Trim();
            if (text != "little") throw new PickleException($"the checkpoint's byte order is '{text}'; only little-endian files are supported");
        }

        var pickle = ReadSmallEntry(pickleEntry);
        object? raw;
        using (var ms = new MemoryStream(pickle, writable: false))
            raw = new PickleReader(new ByteSource(ms), this).Load();

        foreach (var (key, info) in _roots)
        {
            if (!entries.TryGetValue(prefix + "data/" + key, out var entry))
                throw new PickleException($"the pickle refers to storage '{key}' but the archive has no record '{prefix}data/{key}'");
            long nbytes = checked(info.Numel * element_size(info.DType));
            if (entry.Length != nbytes)
                throw new PickleException($"record '{entry.FullName}' holds {entry.Length} bytes but the pickle declares {info.Numel} " +
                                          $"elements of {info.DType} ({nbytes} bytes)");
            var t = NewStorageTensor(key, info.DType, info.Numel);
            using var s = entry.Open();
            uint crc = FillFrom(t, nbytes, span => s.ReadExactly(span));
            if (crc != entry.Crc32)
                throw new PickleException($"record '{entry.FullName}' fails its CRC-32 check (the file is corrupt)");
        }
        return ConvertValue(raw, 0);
    }

    private static byte[] ReadSmallEntry(ZipArchiveEntry entry)
    {
        if (entry.Length > int.MaxValue / 2) throw new PickleException($"record '{entry.FullName}' is implausibly large");
        var bytes = new byte[entry.Length];
        using (var s = entry.Open()) s.ReadExactly(bytes);
        if (Crc32.Compute(bytes) != entry.Crc32)
            throw new PickleException($"record '{entry.FullName}' fails its CRC-32 check (the file is corrupt)");
        return bytes;
    }

    // ---- legacy format ----------------------------------------------------------------------------------------------

    private object? LoadLegacy(FileStream stream)
    {
        var source = new ByteSource(stream);
        object? magic;
        try
        {
            magic = new PickleReader(source, this).Load();
        }
        catch (PickleException e) when (e is not ForbiddenGlobalException)
        {
            throw new PickleException($"not a PyTorch checkpoint: it is neither a zip archive nor a pickle ({e.Message})");
        }
        if (!(magic is BigInteger m && m == LegacyMagic))
            throw new PickleException("the file is a pickle but not a torch.save checkpoint (its first value is not torch's magic number)");
        var protocol = new PickleReader(source, this).Load();
        if (protocol is not long p || p != LegacyProtocolVersion)
            throw new PickleException($"unsupported legacy checkpoint protocol {protocol ?? "None"} (expected {LegacyProtocolVersion})");
        var sysInfo = new PickleReader(source, this).Load();
        if (sysInfo is PyDict info)
            foreach (var (k, v) in info.Items)
                if (k is "little_endian" && v is false)
                    throw new PickleException("the checkpoint was written on a big-endian machine, which is not supported");

        var raw = new PickleReader(source, this).Load();
        var keys = new PickleReader(source, this).Load() as List<object?>
                   ?? throw new PickleException("the list of storage keys after the data pickle is missing");
        foreach (var k in keys)
        {
            var key = k as string ?? throw new PickleException("a storage key is not a string");
            if (!_roots.TryGetValue(key, out var declared))
                throw new PickleException($"the file holds data for storage '{key}', which the pickle never refers to");
            if (_storageTensors.ContainsKey(key)) throw new PickleException($"the file holds storage '{key}' twice");
            long numel = source.ReadInt64();
            if (numel != declared.Numel)
                throw new PickleException($"storage '{key}' holds {numel} elements but the pickle declares {declared.Numel}");
            long nbytes = checked(numel * element_size(declared.DType));
            if (nbytes > source.Remaining) throw new PickleException("the file ends unexpectedly (truncated?)");
            var t = NewStorageTensor(key, declared.DType, numel);
            FillFrom(t, nbytes, span => source.ReadExactly(span));
        }
        foreach (var key in _roots.Keys)
            if (!_storageTensors.ContainsKey(key)) throw new PickleException($"the data of storage '{key}' is missing");
        return ConvertValue(raw, 0);
    }

    // ---- storages ---------------------------------------------------------------------------------------------------

    private Tensor NewStorageTensor(string key, ScalarType dtype, long numel)
    {
        var t = empty(new[] { numel }, dtype);
        _storageTensors[key] = t;
        return t;
    }

    /// <summary>Reads <paramref name="nbytes"/> straight into the tensor's memory; returns their CRC-32.</summary>
    private static unsafe uint FillFrom(Tensor t, long nbytes, ReadChunk read)
    {
        Native.Check(NativeMethods.fs_tensor_data_ptr(t.NativeHandle, out var ptr, out _));
        uint crc = Crc32.Start;
        long done = 0;
        while (done < nbytes)
        {
            int chunk = (int)Math.Min(nbytes - done, 1 << 26);
            var span = new Span<byte>((byte*)ptr + done, chunk);
            read(span);
            crc = Crc32.Update(crc, span);
            done += chunk;
        }
        GC.KeepAlive(t);
        return Crc32.Finish(crc);
    }

    private delegate void ReadChunk(Span<byte> destination);

    // ---- the safe list ----------------------------------------------------------------------------------------------

    /// <summary>
    /// The only globals a checkpoint may name: <c>collections.OrderedDict</c>; <c>torch._utils._rebuild_tensor_v2</c>,
    /// <c>_rebuild_tensor</c>, <c>_rebuild_parameter</c> and <c>_rebuild_parameter_with_state</c>; and the typed
    /// storage classes <c>torch.FloatStorage</c> ... <c>torch.BoolStorage</c> (also under <c>torch.cuda</c>), which only
    /// serve as dtype tags inside persistent ids. Everything else is refused before anything happens.
    /// </summary>
    public object FindGlobal(string module, string name)
    {
        switch (module, name)
        {
            case ("collections", "OrderedDict"):
            case ("torch._utils", "_rebuild_tensor_v2"):
            case ("torch._utils", "_rebuild_tensor"):
            case ("torch._utils", "_rebuild_parameter"):
            case ("torch._utils", "_rebuild_parameter_with_state"):
                return new PyGlobal(module, name);
        }
        if (module is "torch" or "torch.cuda" && StorageTypes.DTypeOf(name) is not null) return new PyGlobal(module, name);
        throw new ForbiddenGlobalException(module, name);
    }

    public object? Call(object callable, object?[] args)
    {
        if (callable is not PyGlobal g) throw new PickleException($"the pickle calls a {PickleReader.Describe(callable)}");
        switch (g.Name)
        {
            case "OrderedDict" when g.Module == "collections":
            {
                var d = new PyDict(true);
                if (args.Length == 1 && args[0] is List<object?> pairs)
                    foreach (var pair in pairs)
                    {
                        if (pair is not object?[] { Length: 2 } kv) throw new PickleException("OrderedDict is given an item that is not a pair");
                        d.Items.Add(new(kv[0], kv[1]));
                    }
                else if (args.Length != 0)
                    throw new PickleException($"OrderedDict is called with {args.Length} unsupported argument(s)");
                return d;
            }
            case "_rebuild_tensor_v2" when args.Length is 6 or 7:
                if (args.Length == 7 && !IsEmpty(args[6]))
                    throw new PickleException("a tensor carries Python metadata, which is not supported");
                return RebuildTensor(args[0], args[1], args[2], args[3], AsBool(args[4], "requires_grad"));
            case "_rebuild_tensor" when args.Length == 4:
                return RebuildTensor(args[0], args[1], args[2], args[3], false);
            case "_rebuild_parameter" when args.Length == 3:
            case "_rebuild_parameter_with_state" when args.Length == 4 && IsEmpty(args[3]):
                return new PendingParameter
                {
                    Data = args[0] as PendingTensor ?? throw new PickleException("a Parameter is built from something other than a tensor"),
                    RequiresGrad = AsBool(args[1], "requires_grad"),
                };
        }
        throw new PickleException($"the pickle calls {g} with {args.Length} argument(s), which is not supported");
    }

    private static bool IsEmpty(object? v) => v is null || v is PyDict { Items.Count: 0 };

    private static bool AsBool(object? v, string what) =>
        v as bool? ?? throw new PickleException($"{what} is a {PickleReader.Describe(v)}, not a bool");

    private static long AsLong(object? v, string what) =>
        v as long? ?? throw new PickleException($"{what} is a {PickleReader.Describe(v)}, not an int");

    private static long[] AsLongs(object? v, string what)
    {
        var items = v switch
        {
            object?[] tuple => tuple,
            List<object?> list => list.ToArray(),
            _ => throw new PickleException($"{what} is a {PickleReader.Describe(v)}, not a tuple of ints"),
        };
        var result = new long[items.Length];
        for (int k = 0; k < items.Length; k++) result[k] = AsLong(items[k], what);
        return result;
    }

    private static PendingTensor RebuildTensor(object? storage, object? offset, object? size, object? stride, bool requiresGrad)
    {
        var s = storage as StorageRef ?? throw new PickleException($"a tensor is rebuilt from a {PickleReader.Describe(storage)}, not a storage");
        var t = new PendingTensor
        {
            Storage = s,
            Offset = AsLong(offset, "a tensor's storage offset"),
            Size = AsLongs(size, "a tensor's size"),
            Stride = AsLongs(stride, "a tensor's stride"),
            RequiresGrad = requiresGrad,
        };
        if (t.Size.Length != t.Stride.Length)
            throw new PickleException($"a tensor has {t.Size.Length} sizes but {t.Stride.Length} strides");
        if (t.Offset < 0 || t.Size.Any(x => x < 0) || t.Stride.Any(x => x < 0))
            throw new PickleException("a tensor has a negative size, stride or offset");
        long numel = 1;
        long last = t.Offset;
        foreach (var (n, st) in t.Size.Zip(t.Stride))
        {
            numel = checked(numel * n);
            if (n > 0) last = checked(last + (n - 1) * st);
        }
        if (numel > 0 && last >= s.Numel)
            throw new PickleException($"a tensor of shape {Tensor.ShapeString(t.Size)} at offset {t.Offset} reaches element {last} " +
                                      $"of a storage of {s.Numel} elements");
        return t;
    }

    public void Build(object? target, object? state)
    {
        // An OrderedDict's instance attributes, such as the _metadata that Module.state_dict() attaches, are dropped.
        if (target is PyDict { Ordered: true }) return;
        throw new PickleException($"the pickle sets the state of a {PickleReader.Describe(target)}, which is not supported");
    }

    public object? PersistentLoad(object? pid)
    {
        if (pid is not object?[] { Length: >= 5 } id || id[0] is not string kind)
            throw new PickleException($"unsupported persistent id {PickleReader.Describe(pid)}");
        if (kind != "storage")
            throw new PickleException(kind == "module"
                ? "the checkpoint pickles a whole nn.Module; save and load its state_dict() instead"
                : $"unsupported persistent id kind '{kind}'");
        if (id.Length is not (5 or 6)) throw new PickleException($"a storage id has {id.Length} fields");
        if (id[1] is not PyGlobal type || StorageTypes.DTypeOf(type.Name) is not { } dtype)
            throw new PickleException($"a storage id names the type {PickleReader.Describe(id[1])}");
        var key = id[2] as string ?? throw new PickleException("a storage key is not a string");
        long numel = AsLong(id[4], "a storage's size");
        if (numel < 0) throw new PickleException("a storage has a negative size");
        if (_roots.TryGetValue(key, out var known))
        {
            if (known.DType != dtype || known.Numel != numel)
                throw new PickleException($"storage '{key}' is declared twice with different types or sizes");
        }
        else
        {
            _roots[key] = (dtype, numel);
        }

        // Legacy files of old PyTorch versions may refer to a slice of a root storage: (view key, offset, size).
        if (id.Length == 6 && id[5] is object?[] view)
        {
            if (view.Length != 3) throw new PickleException("a storage view has the wrong shape");
            long viewOffset = AsLong(view[1], "a storage view's offset");
            long viewSize = AsLong(view[2], "a storage view's size");
            if (viewOffset < 0 || viewSize < 0 || viewOffset + viewSize > numel)
                throw new PickleException($"a storage view [{viewOffset}, +{viewSize}) lies outside its storage of {numel} elements");
            return new StorageRef(key, dtype, viewOffset, viewSize);
        }
        if (id.Length == 6 && id[5] is not null) throw new PickleException("a storage has unsupported view metadata");
        return new StorageRef(key, dtype, 0, numel);
    }

    // ---- from decoded pickle to the value model ---------------------------------------------------------------------

    private object? ConvertValue(object? v, int depth)
    {
        if (depth > MaxDepth) throw new PickleException($"the data is nested more than {MaxDepth} levels deep");
        switch (v)
        {
            case null or bool or long or double or string or BigInteger:
                return v;
            case StorageRef:
                throw new PickleException("the checkpoint holds a bare storage, which is not supported (only tensors are)");
            case PyGlobal g:
                throw new PickleException($"the checkpoint holds the bare global {g}, which is not a value");
        }
        if (_converted.TryGetValue(v, out var done)) return done;
        switch (v)
        {
            case List<object?> list:
                _converted[v] = list;
                for (int k = 0; k < list.Count; k++) list[k] = ConvertValue(list[k], depth + 1);
                return list;
            case object?[] tuple:
                _converted[v] = tuple;
                for (int k = 0; k < tuple.Length; k++) tuple[k] = ConvertValue(tuple[k], depth + 1);
                return tuple;
            case PyDict dict:
                return ConvertDict(dict, depth);
            case PendingTensor p:
            {
                var t = MakeTensor(p);
                _converted[v] = t;
                return t;
            }
            case PendingParameter p:
            {
                var data = MakeTensor(p.Data);
                var parameter = new nn.Parameter(data, p.RequiresGrad);
                data.Dispose();
                _created.Remove(data);
                _created.Add(parameter);
                _converted[v] = parameter;
                return parameter;
            }
        }
        throw new PickleException($"the checkpoint holds a {v.GetType().Name}, which is not supported");
    }

    private object ConvertDict(PyDict dict, int depth)
    {
        var keys = new object?[dict.Items.Count];
        bool allStrings = true, allInts = true;
        for (int k = 0; k < keys.Length; k++)
        {
            var key = ConvertValue(dict.Items[k].Key, depth + 1);
            keys[k] = key;
            allStrings &= key is string;
            allInts &= key is long;
            if (key is null) throw new PickleException("a dict has the key None, which is not supported");
            if (key is Tensor) throw new PickleException("a dict has a tensor as a key, which is not supported");
        }
        if (allStrings)
        {
            var d = new Dictionary<string, object?>(keys.Length);
            _converted[dict] = d;
            for (int k = 0; k < keys.Length; k++) d[(string)keys[k]!] = ConvertValue(dict.Items[k].Value, depth + 1);
            return d;
        }
        if (allInts)
        {
            var d = new Dictionary<long, object?>(keys.Length);
            _converted[dict] = d;
            for (int k = 0; k < keys.Length; k++) d[(long)keys[k]!] = ConvertValue(dict.Items[k].Value, depth + 1);
            return d;
        }
        var mixed = new Dictionary<object, object?>(keys.Length, PythonKeyComparer.Instance);
        _converted[dict] = mixed;
        for (int k = 0; k < keys.Length; k++) mixed[keys[k]!] = ConvertValue(dict.Items[k].Value, depth + 1);
        return mixed;
    }

    private Tensor MakeTensor(PendingTensor p)
    {
        var storage = _storageTensors[p.Storage.Key];
        var t = empty(new long[] { 0 }, p.Storage.DType);
        _created.Add(t);
        using (no_grad())
        {
            var c = new OpCall(SetStorage);
            c.Tensor(t);
            c.Tensor(storage);
            c.Int(p.Storage.ViewOffset + p.Offset);
            c.Ints(p.Size);
            c.Ints(p.Stride);
            c.InvokeInPlace(t);
        }
        if (p.RequiresGrad) t.requires_grad = true;
        return t;
    }

    private void DisposeStorages()
    {
        foreach (var t in _storageTensors.Values) t.Dispose();
        _storageTensors.Clear();
    }

    private void DisposeAll()
    {
        foreach (var t in _created) t.Dispose();
        _created.Clear();
    }
}

/// <summary>
/// Equality of dict keys of mixed types, as Python compares them for the kinds the value model has: tuples
/// (<c>object?[]</c>) compare element by element, everything else by <see cref="object.Equals(object)"/>.
/// </summary>
internal sealed class PythonKeyComparer : IEqualityComparer<object>
{
    /// <summary>The shared instance.</summary>
    public static PythonKeyComparer Instance { get; } = new();

    private PythonKeyComparer() { }

    /// <inheritdoc />
    public new bool Equals(object? x, object? y)
    {
        if (x is object?[] a && y is object?[] b)
        {
            if (a.Length != b.Length) return false;
            for (int k = 0; k < a.Length; k++)
                if (!Equals(a[k], b[k])) return false;
            return true;
        }
        return object.Equals(x, y);
    }

    /// <inheritdoc />
    public int GetHashCode(object obj)
    {
        if (obj is object?[] a)
        {
            var h = new HashCode();
            foreach (var item in a) h.Add(item is null ? 0 : GetHashCode(item));
            return h.ToHashCode();
        }
        return obj.GetHashCode();
    }
}
