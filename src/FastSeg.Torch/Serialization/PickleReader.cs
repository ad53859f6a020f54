using System.Globalization;
using System.Numerics;
using System.Text;

namespace FastSeg.Torch.Serialization;

/// <summary>A Python dict while it is being unpickled: its items in insertion order, converted at the end.</summary>
internal sealed class PyDict
{
    public PyDict(bool ordered) => Ordered = ordered;

    /// <summary>Whether the pickle built it as a <c>collections.OrderedDict</c>.</summary>
    public bool Ordered { get; }

    public List<KeyValuePair<object?, object?>> Items { get; } = new();
}

/// <summary>A global that the host agreed to resolve (only the host decides which).</summary>
internal sealed record PyGlobal(string Module, string Name)
{
    public override string ToString() => Module + "." + Name;
}

/// <summary>What the unpickler asks of its host: every decision about globals and persistent ids is the host's.</summary>
internal interface IPickleHost
{
    /// <summary>Resolves a global; throws <see cref="ForbiddenGlobalException"/> for anything not on the safe list.</summary>
    object FindGlobal(string module, string name);

    /// <summary>Calls a resolved global (REDUCE, NEWOBJ, OBJ, INST).</summary>
    object? Call(object callable, object?[] args);

    /// <summary>Applies BUILD state to an object the host made.</summary>
    void Build(object? target, object? state);

    /// <summary>Resolves a persistent id (torch uses these for storages).</summary>
    object? PersistentLoad(object? pid);
}

/// <summary>
/// A pickle decoder (protocols 0 to 5) that only builds plain values: None, bool, int, float, str, tuple, list and
/// dict. It never imports or runs anything: globals, calls, BUILD and persistent ids all go through
/// <see cref="IPickleHost"/>, which implements the safe list. Sets and bytes are refused because the value model has no
/// type for them.
/// </summary>
internal sealed class PickleReader
{
    private readonly ByteSource _in;
    private readonly IPickleHost _host;
    private readonly List<object?> _stack = new();
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new();

    public PickleReader(ByteSource input, IPickleHost host)
    {
        _in = input;
        _host = host;
    }

    /// <summary>Decodes one pickle, up to and including its STOP opcode.</summary>
    public object? Load()
    {
        _stack.Clear();
        _marks.Clear();
        _memo.Clear();
        while (true)
        {
            long at = _in.Position;
            byte op = _in.ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                {
                    int protocol = _in.ReadByte();
                    if (protocol > 5) throw new PickleException($"pickle protocol {protocol} is newer than 5");
                    break;
                }
                case 0x95: // FRAME: a length prefix that sequential reading can ignore
                    _in.ReadInt64();
                    break;
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0)
                        throw new PickleException($"the pickle stops with {_stack.Count} values on its stack");
                    return _stack[0];

                // ---- stack and memo
                case (byte)'(': _marks.Push(_stack.Count); break; // MARK
                case (byte)'0': Pop(); break; // POP
                case (byte)'1': PopMark(); break; // POP_MARK
                case (byte)'2': Push(Peek()); break; // DUP
                case (byte)'p': _memo[ParseLong(_in.ReadLine())] = Peek(); break; // PUT
                case (byte)'q': _memo[_in.ReadByte()] = Peek(); break; // BINPUT
                case (byte)'r': _memo[_in.ReadUInt32()] = Peek(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'g': Push(MemoGet(ParseLong(_in.ReadLine()))); break; // GET
                case (byte)'h': Push(MemoGet(_in.ReadByte())); break; // BINGET
                case (byte)'j': Push(MemoGet(_in.ReadUInt32())); break; // LONG_BINGET

                // ---- constants and numbers
                case (byte)'N': Push(null); break; // NONE
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case (byte)'I': // INT (text; protocol 0/1 write bools as 01/00)
                {
                    var line = _in.ReadLine();
                    if (line == "01") Push(true);
                    else if (line == "00") Push(false);
                    else Push(ParseInteger(line));
                    break;
                }
                case (byte)'J': Push((long)_in.ReadInt32()); break; // BININT
                case (byte)'K': Push((long)_in.ReadByte()); break; // BININT1
                case (byte)'M': Push((long)_in.ReadUInt16()); break; // BININT2
                case (byte)'L': Push(ParseInteger(_in.ReadLine().TrimEnd('L'))); break; // LONG (text)
                case 0x8a: Push(DecodeLong(_in.ReadBytes(_in.ReadByte()))); break; // LONG1
                case 0x8b: // LONG4
                {
                    int n = _in.ReadInt32();
                    if (n < 0) throw new PickleException("negative LONG4 length");
                    Push(DecodeLong(_in.ReadBytes(n)));
                    break;
                }
                case (byte)'F': Push(ParseFloat(_in.ReadLine())); break; // FLOAT (text)
                case (byte)'G': Push(_in.ReadDoubleBigEndian()); break; // BINFLOAT

                // ---- strings
                case (byte)'X': Push(Utf8(_in.ReadBytes(_in.ReadUInt32()))); break; // BINUNICODE
                case 0x8c: Push(Utf8(_in.ReadBytes(_in.ReadByte()))); break; // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(_in.ReadBytes(_in.ReadInt64()))); break; // BINUNICODE8
                case (byte)'V': Push(DecodeRawUnicodeEscape(_in.ReadLine())); break; // UNICODE (text)
                // Python 2 byte strings (old checkpoints): keys and names are ASCII, Latin-1 never fails.
                case (byte)'T': Push(Encoding.Latin1.GetString(_in.ReadBytes(_in.ReadInt32()))); break; // BINSTRING
                case (byte)'U': Push(Encoding.Latin1.GetString(_in.ReadBytes(_in.ReadByte()))); break; // SHORT_BINSTRING
                case (byte)'S': Push(DecodeQuotedString(_in.ReadLine())); break; // STRING (text)
                case (byte)'B': case (byte)'C': case 0x8e: case 0x96: // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
                    throw new PickleException("the pickle holds a Python bytes value, which FastSeg's value model has no type for");
                case 0x97: case 0x98: // NEXT_BUFFER, READONLY_BUFFER
                    throw new PickleException("the pickle uses out-of-band buffers, which torch checkpoints never do");

                // ---- containers
                case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case (byte)'t': Push(PopMark()); break; // TUPLE
                case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)'l': Push(new List<object?>(PopMark())); break; // LIST
                case (byte)'a': { var item = Pop(); ListAt(Peek()).Add(item); break; } // APPEND
                case (byte)'e': { var items = PopMark(); ListAt(Peek()).AddRange(items); break; } // APPENDS
                case (byte)'}': Push(new PyDict(false)); break; // EMPTY_DICT
                case (byte)'d': // DICT
                {
                    var items = PopMark();
                    var d = new PyDict(false);
                    AddPairs(d, items);
                    Push(d);
                    break;
                }
                case (byte)'s': // SETITEM
                {
                    var value = Pop();
                    var key = Pop();
                    DictAt(Peek()).Items.Add(new(key, value));
                    break;
                }
                case (byte)'u': { var items = PopMark(); AddPairs(DictAt(Peek()), items); break; } // SETITEMS
                case 0x8f: case 0x90: case 0x91: // EMPTY_SET, ADDITEMS, FROZENSET
                    throw new PickleException("the pickle holds a Python set, which FastSeg's value model has no type for");

                // ---- globals and calls: every decision is the host's
                case (byte)'c': // GLOBAL
                {
                    var module = _in.ReadLine();
                    var name = _in.ReadLine();
                    Push(_host.FindGlobal(module, name));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop() as string;
                    var module = Pop() as string;
                    if (module is null || name is null) throw new PickleException("STACK_GLOBAL needs two strings");
                    Push(_host.FindGlobal(module, name));
                    break;
                }
                case (byte)'R': // REDUCE
                {
                    var args = Pop() as object?[] ?? throw new PickleException("REDUCE needs an argument tuple");
                    var callable = Pop() ?? throw new PickleException("REDUCE of None");
                    Push(_host.Call(callable, args));
                    break;
                }
                case 0x81: // NEWOBJ
                {
                    var args = Pop() as object?[] ?? throw new PickleException("NEWOBJ needs an argument tuple");
                    var cls = Pop() ?? throw new PickleException("NEWOBJ of None");
                    Push(_host.Call(cls, args));
                    break;
                }
                case 0x92: // NEWOBJ_EX
                {
                    var kwargs = Pop();
                    var args = Pop() as object?[] ?? throw new PickleException("NEWOBJ_EX needs an argument tuple");
                    var cls = Pop() ?? throw new PickleException("NEWOBJ_EX of None");
                    if (kwargs is not PyDict { Items.Count: 0 })
                        throw new PickleException($"NEWOBJ_EX with keyword arguments for {cls}");
                    Push(_host.Call(cls, args));
                    break;
                }
                case (byte)'i': // INST: module and name inline, arguments since the mark
                {
                    var module = _in.ReadLine();
                    var name = _in.ReadLine();
                    var callable = _host.FindGlobal(module, name);
                    Push(_host.Call(callable, PopMark()));
                    break;
                }
                case (byte)'o': // OBJ: class and arguments since the mark
                {
                    var items = PopMark();
                    if (items.Length == 0 || items[0] is null) throw new PickleException("OBJ without a class");
                    Push(_host.Call(items[0]!, items[1..]));
                    break;
                }
                case (byte)'b': // BUILD
                {
                    var state = Pop();
                    _host.Build(Peek(), state);
                    break;
                }
                case (byte)'P': Push(_host.PersistentLoad(_in.ReadLine())); break; // PERSID
                case (byte)'Q': Push(_host.PersistentLoad(Pop())); break; // BINPERSID
                case 0x82: case 0x83: case 0x84: // EXT1, EXT2, EXT4
                    throw new PickleException("the pickle uses the copyreg extension registry, which is not supported");
                default:
                    throw new PickleException($"unknown pickle opcode 0x{op:x2} at byte {at} (corrupt data?)");
            }
        }
    }

    private void Push(object? value) => _stack.Add(value);

    private object? Pop()
    {
        int floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor) throw new PickleException("the pickle pops an empty stack (corrupt data?)");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private object? Peek()
    {
        int floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor) throw new PickleException("the pickle reads an empty stack (corrupt data?)");
        return _stack[^1];
    }

    private object?[] PopMark()
    {
        if (_marks.Count == 0) throw new PickleException("the pickle has no MARK where one is needed (corrupt data?)");
        int start = _marks.Pop();
        var items = _stack.GetRange(start, _stack.Count - start).ToArray();
        _stack.RemoveRange(start, _stack.Count - start);
        return items;
    }

    private object? MemoGet(long key) =>
        _memo.TryGetValue(key, out var v) ? v : throw new PickleException($"the pickle reads memo entry {key}, which was never stored");

    private static List<object?> ListAt(object? target) =>
        target as List<object?> ?? throw new PickleException($"the pickle appends to a {Describe(target)}, not a list");

    private static PyDict DictAt(object? target) =>
        target as PyDict ?? throw new PickleException($"the pickle sets items of a {Describe(target)}, not a dict");

    private static void AddPairs(PyDict d, object?[] items)
    {
        if (items.Length % 2 != 0) throw new PickleException("a dict is given an odd number of keys and values");
        for (int k = 0; k < items.Length; k += 2) d.Items.Add(new(items[k], items[k + 1]));
    }

    internal static string Describe(object? v) => v switch
    {
        null => "None",
        PyGlobal g => "global " + g,
        _ => v.GetType().Name,
    };

    private static string Utf8(byte[] bytes)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new PickleException("a string in the pickle is not valid UTF-8");
        }
    }

    private static long ParseLong(string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new PickleException($"'{text}' is not an integer");

    private static object ParseInteger(string text)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)) return v;
        if (BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big)) return big;
        throw new PickleException($"'{text}' is not an integer");
    }

    private static double ParseFloat(string text)
    {
        switch (text)
        {
            case "nan": return double.NaN;
            case "inf": return double.PositiveInfinity;
            case "-inf": return double.NegativeInfinity;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            ? d
            : throw new PickleException($"'{text}' is not a float");
    }

    /// <summary>A little-endian two's-complement integer (LONG1/LONG4); a long when it fits.</summary>
    internal static object DecodeLong(byte[] bytes)
    {
        if (bytes.Length == 0) return 0L;
        var big = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return big >= long.MinValue && big <= long.MaxValue ? (object)(long)big : big;
    }

    // Protocol 0 str: Latin-1 text in which only \uXXXX and \UXXXXXXXX are escapes.
    private static string DecodeRawUnicodeEscape(string line)
    {
        if (line.IndexOf('\\') < 0) return line;
        var sb = new StringBuilder(line.Length);
        for (int k = 0; k < line.Length; k++)
        {
            char ch = line[k];
            if (ch == '\\' && k + 1 < line.Length && (line[k + 1] == 'u' || line[k + 1] == 'U'))
            {
                int digits = line[k + 1] == 'u' ? 4 : 8;
                if (k + 2 + digits <= line.Length &&
                    int.TryParse(line.AsSpan(k + 2, digits), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var cp))
                {
                    sb.Append(char.ConvertFromUtf32(cp));
                    k += 1 + digits;
                    continue;
                }
            }
            sb.Append(ch);
        }
        return sb.ToString();
    }

    // Protocol 0 Python 2 str: a quoted repr with backslash escapes.
    private static string DecodeQuotedString(string line)
    {
        if (line.Length < 2 || (line[0] != '\'' && line[0] != '"') || line[^1] != line[0])
            throw new PickleException("a STRING opcode without quotes");
        var body = line[1..^1];
        var sb = new StringBuilder(body.Length);
        for (int k = 0; k < body.Length; k++)
        {
            char ch = body[k];
            if (ch != '\\' || k + 1 == body.Length)
            {
                sb.Append(ch);
                continue;
            }
            char e = body[++k];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case '0' or '1' or '2' or '3' or '4' or '5' or '6' or '7':
                {
                    int end = k;
                    while (end < body.Length && end < k + 3 && body[end] is >= '0' and <= '7') end++;
                    sb.Append((char)Convert.ToInt32(body[k..end], 8));
                    k = end - 1;
                    break;
                }
                case 'x' when k + 2 < body.Length:
                    sb.Append((char)int.Parse(body.AsSpan(k + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    k += 2;
                    break;
                default: sb.Append(e); break;
            }
        }
        return sb.ToString();
    }
}
