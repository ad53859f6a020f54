using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace FastSeg.Torch.Serialization;

/// <summary>
/// Emits pickle protocol 2 opcodes, the protocol <c>torch.save</c> uses by default. It knows nothing about values;
/// <see cref="CheckpointWriter"/> walks the value and calls these primitives. Memo slots are handed out in order, as
/// Python's pickler does, so repeated strings, globals and shared containers are written once and then referenced.
/// </summary>
internal sealed class PickleWriter
{
    private readonly Stream _out;
    private readonly Dictionary<string, int> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _globals = new(StringComparer.Ordinal);
    private readonly Dictionary<object, int> _objects = new(ReferenceEqualityComparer.Instance);
    private int _nextMemo;

    public PickleWriter(Stream output) => _out = output;

    public void Begin()
    {
        _out.WriteByte(0x80); // PROTO
        _out.WriteByte(2);
    }

    public void Stop() => _out.WriteByte((byte)'.');

    public void Mark() => _out.WriteByte((byte)'(');

    public void None() => _out.WriteByte((byte)'N');

    public void Bool(bool value) => _out.WriteByte(value ? (byte)0x88 : (byte)0x89); // NEWTRUE / NEWFALSE

    public void Int(long value)
    {
        Span<byte> b = stackalloc byte[8];
        if (value is >= 0 and <= 0xFF)
        {
            _out.WriteByte((byte)'K'); // BININT1
            _out.WriteByte((byte)value);
        }
        else if (value is >= 0 and <= 0xFFFF)
        {
            _out.WriteByte((byte)'M'); // BININT2
            BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)value);
            _out.Write(b[..2]);
        }
        else if (value is >= int.MinValue and <= int.MaxValue)
        {
            _out.WriteByte((byte)'J'); // BININT
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)value);
            _out.Write(b[..4]);
        }
        else
        {
            Long(value);
        }
    }

    /// <summary>Any integer as LONG1: little-endian two's complement, as short as possible.</summary>
    public void Long(BigInteger value)
    {
        var bytes = value.IsZero ? Array.Empty<byte>() : value.ToByteArray(isUnsigned: false, isBigEndian: false);
        if (bytes.Length > 255)
        {
            _out.WriteByte(0x8b); // LONG4
            Span<byte> n = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(n, bytes.Length);
            _out.Write(n);
        }
        else
        {
            _out.WriteByte(0x8a); // LONG1
            _out.WriteByte((byte)bytes.Length);
        }
        _out.Write(bytes);
    }

    public void Float(double value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(b, value);
        _out.WriteByte((byte)'G'); // BINFLOAT
        _out.Write(b);
    }

    /// <summary>A str (BINUNICODE), memoized by value.</summary>
    public void String(string value)
    {
        if (_strings.TryGetValue(value, out var slot))
        {
            Get(slot);
            return;
        }
        var utf8 = Encoding.UTF8.GetBytes(value);
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(n, (uint)utf8.Length);
        _out.WriteByte((byte)'X');
        _out.Write(n);
        _out.Write(utf8);
        _strings[value] = Put();
    }

    /// <summary>A module-level global (GLOBAL), memoized by name.</summary>
    public void Global(string module, string name)
    {
        var full = module + "\n" + name + "\n";
        if (_globals.TryGetValue(full, out var slot))
        {
            Get(slot);
            return;
        }
        _out.WriteByte((byte)'c');
        _out.Write(Encoding.ASCII.GetBytes(full));
        _globals[full] = Put();
    }

    public void EmptyTuple() => _out.WriteByte((byte)')');

    /// <summary>Closes a tuple of <paramref name="count"/> items: TUPLE1-3 without a mark, TUPLE after a MARK otherwise.</summary>
    public void EndTuple(int count)
    {
        switch (count)
        {
            case 0: EmptyTuple(); break;
            case 1: _out.WriteByte(0x85); break;
            case 2: _out.WriteByte(0x86); break;
            case 3: _out.WriteByte(0x87); break;
            default: _out.WriteByte((byte)'t'); break;
        }
    }

    /// <summary>Whether a tuple of <paramref name="count"/> items needs a MARK before them.</summary>
    public static bool TupleNeedsMark(int count) => count > 3;

    public void EmptyList() => _out.WriteByte((byte)']');

    public void Appends() => _out.WriteByte((byte)'e');

    public void EmptyDict() => _out.WriteByte((byte)'}');

    public void SetItems() => _out.WriteByte((byte)'u');

    public void Reduce() => _out.WriteByte((byte)'R');

    public void BinPersId() => _out.WriteByte((byte)'Q');

    /// <summary>Remembers the object just built under the next memo slot.</summary>
    public void Memoize(object obj) => _objects[obj] = Put();

    /// <summary>Writes a reference to <paramref name="obj"/> if it was memoized; returns whether it was.</summary>
    public bool TryReference(object obj)
    {
        if (!_objects.TryGetValue(obj, out var slot)) return false;
        Get(slot);
        return true;
    }

    private int Put()
    {
        int slot = _nextMemo++;
        if (slot < 256)
        {
            _out.WriteByte((byte)'q'); // BINPUT
            _out.WriteByte((byte)slot);
        }
        else
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, slot);
            _out.WriteByte((byte)'r'); // LONG_BINPUT
            _out.Write(b);
        }
        return slot;
    }

    private void Get(int slot)
    {
        if (slot < 256)
        {
            _out.WriteByte((byte)'h'); // BINGET
            _out.WriteByte((byte)slot);
        }
        else
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, slot);
            _out.WriteByte((byte)'j'); // LONG_BINGET
            _out.Write(b);
        }
    }
}
