using System.Collections;
using System.Numerics;
using System.Runtime.CompilerServices;
using FastSeg.Torch.Interop;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Serialization;

/// <summary>
/// Writes values in the zip format of Python's <c>torch.save</c> (PyTorch 1.6 and later, read by 1.13's
/// <c>torch.load</c>): records <c>archive/data.pkl</c> (pickle protocol 2), <c>archive/data/&lt;key&gt;</c> (raw
/// little-endian storage bytes), <c>archive/version</c> and <c>archive/byteorder</c>.
/// <para>
/// Tensors that share memory are written as views of one storage, so they share memory again after loading: tensors
/// are grouped by the base address of their libtorch storage and dtype, and each group is written once, from the first
/// to the last byte any of its tensors uses. A non-contiguous view is written with its own strides and offset.
/// </para>
/// <para>The file is written to a temporary file in the same folder and renamed over the target at the end.</para>
/// </summary>
internal sealed class CheckpointWriter
{
    private const int MaxDepth = 1000;
    private const int Batch = 1000; // items per APPENDS/SETITEMS, as Python batches them

    private static readonly AtenOp AsStrided = new("aten::as_strided");
    private static readonly long[] One = { 1 };

    private sealed class StorageGroup
    {
        public required string Key { get; init; }
        public required ScalarType DType { get; init; }
        public required IntPtr Base { get; init; }
        public long Start { get; set; } = long.MaxValue; // in elements from Base
        public long End { get; set; } // exclusive
        public long Numel => End > Start ? End - Start : 0;
    }

    private sealed class TensorRecord
    {
        public required Tensor Data { get; init; } // a CPU tensor (the source itself when it already was one)
        public required bool Owned { get; init; }
        public required ScalarType DType { get; init; }
        public required long[] Size { get; init; }
        public required long[] Stride { get; init; }
        public required bool RequiresGrad { get; init; }
        public required IntPtr Base { get; init; }
        public required long Offset { get; init; } // in elements from Base
        public required long Numel { get; init; }
        public StorageGroup? Group { get; set; }
    }

    private readonly Dictionary<Tensor, TensorRecord> _tensors = new(ReferenceEqualityComparer.Instance);
    private readonly List<TensorRecord> _order = new();
    private readonly List<StorageGroup> _groups = new();
    private readonly HashSet<object> _openTuples = new(ReferenceEqualityComparer.Instance);
    private PickleWriter _pickle = null!;
    private bool _layoutDone;

    /// <summary>Saves <paramref name="value"/> to <paramref name="path"/> atomically.</summary>
    public static void Save(object? value, string path, bool forceZip64 = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        var writer = new CheckpointWriter();
        try
        {
            // Pass 1 finds every tensor (and rejects unsupported values before any file is touched); pass 2 writes the
            // pickle with the storage keys and offsets that the layout assigned.
            writer.Pickle(value, Stream.Null);
            writer.Layout();
            using var pickle = new MemoryStream();
            writer.Pickle(value, pickle);
            writer.WriteArchive(pickle, path, forceZip64);
        }
        finally
        {
            writer.Release();
        }
    }

    // ---- value walk -------------------------------------------------------------------------------------------------

    private void Pickle(object? value, Stream output)
    {
        _pickle = new PickleWriter(output);
        _openTuples.Clear();
        _pickle.Begin();
        WriteValue(value, null, 0);
        _pickle.Stop();
    }

    /// <summary>Where a value sits inside the saved object, for error messages (built only when one is needed).</summary>
    private sealed record Where(Where? Parent, object? Key, bool IsIndex)
    {
        public override string ToString()
        {
            var parts = new List<string>();
            for (var w = this; w is not null; w = w.Parent)
                parts.Add(w.IsIndex ? $"[{w.Key}]" : w.Key is string s ? $"[\"{s}\"]" : $"[{FormatKey(w.Key)}]");
            parts.Reverse();
            return "obj" + string.Concat(parts);
        }

        private static string FormatKey(object? key) => key switch
        {
            null => "None",
            object?[] t => "(" + string.Join(", ", t.Select(FormatKey)) + ")",
            _ => Convert.ToString(key, System.Globalization.CultureInfo.InvariantCulture) ?? "?",
        };
    }

    private static string Describe(Where? where) => where?.ToString() ?? "obj";

    private void WriteValue(object? value, Where? where, int depth)
    {
        if (depth > MaxDepth) throw new ArgumentException($"torch.save: {Describe(where)} is nested more than {MaxDepth} levels deep");
        switch (value)
        {
            case null: _pickle.None(); return;
            case bool b: _pickle.Bool(b); return;
            case long l: _pickle.Int(l); return;
            case int i: _pickle.Int(i); return;
            case short s: _pickle.Int(s); return;
            case sbyte sb: _pickle.Int(sb); return;
            case byte by: _pickle.Int(by); return;
            case ushort us: _pickle.Int(us); return;
            case uint ui: _pickle.Int(ui); return;
            case ulong ul: if (ul <= long.MaxValue) _pickle.Int((long)ul); else _pickle.Long(ul); return;
            case BigInteger big: if (big >= long.MinValue && big <= long.MaxValue) _pickle.Int((long)big); else _pickle.Long(big); return;
            case double d: _pickle.Float(d); return;
            case float f: _pickle.Float(f); return;
            case Half h: _pickle.Float((double)h); return;
            case string str: _pickle.String(str); return;
            case Tensor t: WriteTensor(t, where); return;
        }
        if (_pickle.TryReference(value)) return;
        if (value is object?[] tuple && value.GetType() == typeof(object[]))
        {
            WriteTuple(tuple, tuple, where, depth);
            return;
        }
        if (value is ITuple valueTuple)
        {
            var items = new object?[valueTuple.Length];
            for (int k = 0; k < items.Length; k++) items[k] = valueTuple[k];
            WriteTuple(value, items, where, depth);
            return;
        }
        if (IsStateDict(value.GetType()))
        {
            _pickle.Global("collections", "OrderedDict");
            _pickle.EmptyTuple();
            _pickle.Reduce();
            _pickle.Memoize(value);
            WriteItems(Entries(value), where, depth);
            return;
        }
        if (value is IDictionary || ReadOnlyDictionaryValueType(value.GetType()) is not null)
        {
            _pickle.EmptyDict();
            _pickle.Memoize(value);
            WriteItems(Entries(value), where, depth);
            return;
        }
        if (value is IList list)
        {
            _pickle.EmptyList();
            _pickle.Memoize(value);
            int index = 0;
            while (index < list.Count)
            {
                int n = Math.Min(Batch, list.Count - index);
                _pickle.Mark();
                for (int k = 0; k < n; k++, index++) WriteValue(list[index], new Where(where, index, true), depth + 1);
                _pickle.Appends();
            }
            return;
        }
        throw new ArgumentException(
            $"torch.save cannot write {Describe(where)}: its type {value.GetType()} has no Python counterpart (supported: null, bool, " +
            "integers, float/double, string, Tensor, object?[] (tuple), lists, dictionaries)", "obj");
    }

    private void WriteTuple(object identity, object?[] items, Where? where, int depth)
    {
        if (!_openTuples.Add(identity))
            throw new ArgumentException($"torch.save cannot write {Describe(where)}: a tuple contains itself", "obj");
        bool mark = PickleWriter.TupleNeedsMark(items.Length);
        if (mark) _pickle.Mark();
        for (int k = 0; k < items.Length; k++) WriteValue(items[k], new Where(where, k, true), depth + 1);
        _pickle.EndTuple(items.Length);
        _openTuples.Remove(identity);
        _pickle.Memoize(identity);
    }

    private void WriteItems(List<(object? Key, object? Value)> items, Where? where, int depth)
    {
        int index = 0;
        while (index < items.Count)
        {
            int n = Math.Min(Batch, items.Count - index);
            _pickle.Mark();
            for (int k = 0; k < n; k++, index++)
            {
                var (key, value) = items[index];
                CheckKey(key, where);
                WriteValue(key, where, depth + 1);
                WriteValue(value, new Where(where, key, false), depth + 1);
            }
            _pickle.SetItems();
        }
    }

    private static void CheckKey(object? key, Where? where)
    {
        switch (key)
        {
            case null or string or bool or long or int or short or sbyte or byte or ushort or uint or ulong or BigInteger
                or double or float:
                return;
            case object?[] t when key.GetType() == typeof(object[]):
                foreach (var item in t) CheckKey(item, where);
                return;
        }
        throw new ArgumentException(
            $"torch.save cannot write a dict key of type {key.GetType()} in {Describe(where)} (keys must be strings, numbers, bools, None or tuples of them)", "obj");
    }

    /// <summary>Whether the type is a state dict: a string-keyed dictionary whose values are tensors.</summary>
    private static bool IsStateDict(Type type)
    {
        foreach (var i in type.GetInterfaces().Append(type))
        {
            if (!i.IsGenericType) continue;
            var def = i.GetGenericTypeDefinition();
            if (def != typeof(IReadOnlyDictionary<,>) && def != typeof(IDictionary<,>)) continue;
            var args = i.GetGenericArguments();
            if (args[0] == typeof(string) && typeof(Tensor).IsAssignableFrom(args[1])) return true;
        }
        return false;
    }

    private static Type? ReadOnlyDictionaryValueType(Type type)
    {
        foreach (var i in type.GetInterfaces().Append(type))
            if (i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>))
                return i.GetGenericArguments()[1];
        return null;
    }

    /// <summary>The entries of any dictionary, in its enumeration order.</summary>
    private static List<(object? Key, object? Value)> Entries(object dictionary)
    {
        var result = new List<(object?, object?)>();
        if (dictionary is IDictionary d)
        {
            var e = d.GetEnumerator();
            while (e.MoveNext()) result.Add((e.Key, e.Value));
            return result;
        }
        // A generic read-only dictionary without the non-generic interface: read KeyValuePair<,> through reflection.
        foreach (var item in (IEnumerable)dictionary)
        {
            var t = item!.GetType();
            result.Add((t.GetProperty("Key")!.GetValue(item), t.GetProperty("Value")!.GetValue(item)));
        }
        return result;
    }

    // ---- tensors ----------------------------------------------------------------------------------------------------

    private void WriteTensor(Tensor tensor, Where? where)
    {
        if (_pickle.TryReference(tensor)) return;
        var record = Register(tensor, where);
        bool isParameter = tensor is nn.Parameter;
        if (isParameter) _pickle.Global("torch._utils", "_rebuild_parameter");

        var group = record.Group;
        string key = group?.Key ?? "?";
        long storageNumel = group?.Numel ?? 0;
        long offset = group is null || record.Numel == 0 ? 0 : record.Offset - group.Start;

        // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks)
        _pickle.Global("torch._utils", "_rebuild_tensor_v2");
        _pickle.Mark();
        _pickle.Mark(); // persistent id ('storage', torch.XStorage, key, 'cpu', numel)
        _pickle.String("storage");
        _pickle.Global("torch", StorageTypes.NameOf(record.DType));
        _pickle.String(key);
        _pickle.String("cpu");
        _pickle.Int(storageNumel);
        _pickle.EndTuple(5);
        _pickle.BinPersId();
        _pickle.Int(offset);
        WriteIntTuple(record.Size);
        WriteIntTuple(record.Stride);
        _pickle.Bool(!isParameter && record.RequiresGrad);
        _pickle.Global("collections", "OrderedDict");
        _pickle.EmptyTuple();
        _pickle.Reduce();
        _pickle.EndTuple(6);
        _pickle.Reduce();

        if (isParameter)
        {
            // _rebuild_parameter(data, requires_grad, backward_hooks)
            _pickle.Bool(record.RequiresGrad);
            _pickle.Global("collections", "OrderedDict");
            _pickle.EmptyTuple();
            _pickle.Reduce();
            _pickle.EndTuple(3);
            _pickle.Reduce();
        }
        _pickle.Memoize(tensor);
    }

    private void WriteIntTuple(long[] values)
    {
        bool mark = PickleWriter.TupleNeedsMark(values.Length);
        if (mark) _pickle.Mark();
        foreach (var v in values) _pickle.Int(v);
        _pickle.EndTuple(values.Length);
    }

    private TensorRecord Register(Tensor tensor, Where? where)
    {
        if (_tensors.TryGetValue(tensor, out var known)) return known;
        if (_layoutDone) throw new InvalidOperationException("torch.save: a tensor appeared only in the second pass");
        if (tensor.IsInvalid)
            throw new ObjectDisposedException(nameof(Tensor), $"torch.save cannot write {Describe(where)}: the tensor has been disposed");
        _ = StorageTypes.NameOf(tensor.dtype); // rejects dtypes that have no storage class

        bool owned = false;
        Tensor data = tensor;
        if (tensor.device_type != DeviceType.CPU)
        {
            using var detached = tensor.detach();
            data = detached.to(CPU);
            owned = true;
        }
        var size = data.shape;
        var stride = data.stride();
        long numel = size.Aggregate(1L, (a, b) => a * b);
        long elementSize = element_size(data.dtype);
        Native.Check(NativeMethods.fs_tensor_data_ptr(data.NativeHandle, out var ptr, out _));
        var storageBase = numel == 0 ? ptr : StorageBase(data);
        long offset = (long)(ptr - storageBase) / elementSize;
        var record = new TensorRecord
        {
            Data = data,
            Owned = owned,
            DType = data.dtype,
            Size = size,
            Stride = stride,
            RequiresGrad = tensor.requires_grad,
            Base = storageBase,
            Offset = offset,
            Numel = numel,
        };
        _tensors[tensor] = record;
        _order.Add(record);
        return record;
    }

    /// <summary>
    /// The address of element 0 of the tensor's storage: a one-element view at storage offset 0 points there (the
    /// dispatcher has no storage_offset operator to ask instead). Needs a tensor with at least one element.
    /// </summary>
    internal static IntPtr StorageBase(Tensor t)
    {
        Tensor first;
        using (no_grad())
        {
            var c = new OpCall(AsStrided);
            c.Tensor(t);
            c.Ints(One);
            c.Ints(One);
            c.Int(0);
            first = c.InvokeTensor();
        }
        try
        {
            Native.Check(NativeMethods.fs_tensor_data_ptr(first.NativeHandle, out var p, out _));
            return p;
        }
        finally
        {
            first.Dispose();
        }
    }

    /// <summary>Groups the tensors into storages: same libtorch storage (base address) and dtype share one record.</summary>
    private void Layout()
    {
        var byBase = new Dictionary<(IntPtr, ScalarType), StorageGroup>();
        foreach (var r in _order)
        {
            StorageGroup? g;
            if (r.Numel == 0)
            {
                g = new StorageGroup { Key = _groups.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), DType = r.DType, Base = IntPtr.Zero };
                _groups.Add(g);
            }
            else if (!byBase.TryGetValue((r.Base, r.DType), out g))
            {
                g = new StorageGroup { Key = _groups.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), DType = r.DType, Base = r.Base };
                byBase[(r.Base, r.DType)] = g;
                _groups.Add(g);
            }
            r.Group = g;
            if (r.Numel == 0) continue;
            long last = r.Offset;
            for (int k = 0; k < r.Size.Length; k++) last += (r.Size[k] - 1) * r.Stride[k];
            g.Start = Math.Min(g.Start, r.Offset);
            g.End = Math.Max(g.End, last + 1);
        }
        _layoutDone = true;
    }

    // ---- the archive ------------------------------------------------------------------------------------------------

    private void WriteArchive(MemoryStream pickle, string path, bool forceZip64)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full) ?? ".";
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"cannot save '{path}': the folder '{folder}' does not exist");
        RemoveStaleTemporaries(folder, Path.GetFileName(full));
        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var zip = new ZipWriter(file, forceZip64);
                zip.Add("archive/data.pkl", pickle.ToArray());
                foreach (var g in _groups) WriteStorage(zip, g);
                zip.Add("archive/version", "3\n"u8.ToArray());
                zip.Add("archive/byteorder", "little"u8.ToArray());
                zip.Finish();
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
                // best effort: the original error matters more
            }
            catch (UnauthorizedAccessException)
            {
            }
            throw;
        }
    }

    /// <summary>
    /// Deletes what earlier, interrupted saves of the same file left behind (<c>.name.&lt;guid&gt;.tmp</c>). A temporary
    /// that another save is still writing is held open with an exclusive lock, so it cannot be opened here and is left
    /// alone; one that nobody holds belongs to a writer that died.
    /// </summary>
    private static void RemoveStaleTemporaries(string folder, string fileName)
    {
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(folder, $".{fileName}.*.tmp").ToList();
        }
        catch (IOException)
        {
            return;
        }
        foreach (var candidate in candidates)
        {
            var guid = Path.GetFileName(candidate)[(fileName.Length + 2)..^4];
            if (!Guid.TryParseExact(guid, "N", out _)) continue; // not one of ours
            try
            {
                using (new FileStream(candidate, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
                File.Delete(candidate);
            }
            catch (IOException)
            {
                // being written by another save, or already gone
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private unsafe void WriteStorage(ZipWriter zip, StorageGroup g)
    {
        long elementSize = element_size(g.DType);
        long nbytes = g.Numel * elementSize;
        IntPtr start = g.Numel == 0 ? IntPtr.Zero : g.Base + (nint)(g.Start * elementSize);
        const int Chunk = 1 << 26;
        uint crc = Crc32.Start;
        for (long done = 0; done < nbytes; done += Chunk)
            crc = Crc32.Update(crc, new ReadOnlySpan<byte>((byte*)start + done, (int)Math.Min(Chunk, nbytes - done)));
        zip.Add("archive/data/" + g.Key, nbytes, Crc32.Finish(crc), output =>
        {
            for (long done = 0; done < nbytes; done += Chunk)
                output.Write(new ReadOnlySpan<byte>((byte*)start + done, (int)Math.Min(Chunk, nbytes - done)));
        });
    }

    private void Release()
    {
        foreach (var r in _order)
        {
            if (r.Owned) r.Data.Dispose();
            else GC.KeepAlive(r.Data);
        }
    }
}
