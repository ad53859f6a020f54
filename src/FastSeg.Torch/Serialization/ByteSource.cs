using System.Buffers.Binary;

namespace FastSeg.Torch.Serialization;

/// <summary>Problems found while decoding a checkpoint; the caller turns them into a path-naming exception.</summary>
internal class PickleException : Exception
{
    public PickleException(string message) : base(message) { }
}

/// <summary>A refused global (see <see cref="UnsafeCheckpointException"/>).</summary>
internal sealed class ForbiddenGlobalException : PickleException
{
    public ForbiddenGlobalException(string module, string name) : base($"forbidden global {module}.{name}")
    {
        Module = module;
        Name = name;
    }

    public string Module { get; }

    public string Name { get; }
}

/// <summary>
/// Buffered, bounds-checked sequential reads over a seekable stream. Every read that would pass the end of the stream
/// throws <see cref="PickleException"/> ("truncated"), and no length read from the file is trusted before it is
/// checked against the bytes that remain, so a corrupt length cannot cause a huge allocation.
/// </summary>
internal sealed class ByteSource
{
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _bufferPos;
    private int _bufferLen;
    private long _bufferStart; // stream position of _buffer[0]

    public ByteSource(Stream stream)
    {
        if (!stream.CanSeek) throw new ArgumentException("the stream must be seekable", nameof(stream));
        _stream = stream;
        _bufferStart = stream.Position;
        Length = stream.Length;
    }

    public long Length { get; }

    /// <summary>The position of the next byte to be read.</summary>
    public long Position => _bufferStart + _bufferPos;

    public long Remaining => Length - Position;

    private static PickleException Truncated() => new("the file ends unexpectedly (truncated?)");

    private bool Fill()
    {
        _bufferStart += _bufferLen;
        _bufferPos = 0;
        _bufferLen = 0;
        if (_stream.Position != _bufferStart) _stream.Position = _bufferStart;
        int n = _stream.Read(_buffer, 0, _buffer.Length);
        _bufferLen = n;
        return n > 0;
    }

    public byte ReadByte()
    {
        if (_bufferPos == _bufferLen && !Fill()) throw Truncated();
        return _buffer[_bufferPos++];
    }

    /// <summary>Fills <paramref name="destination"/> completely or throws.</summary>
    public void ReadExactly(Span<byte> destination)
    {
        while (destination.Length > 0)
        {
            if (_bufferPos == _bufferLen)
            {
                // Large reads bypass the buffer.
                if (destination.Length >= _buffer.Length)
                {
                    _bufferStart += _bufferLen;
                    _bufferPos = _bufferLen = 0;
                    if (_stream.Position != _bufferStart) _stream.Position = _bufferStart;
                    int direct = _stream.Read(destination);
                    if (direct <= 0) throw Truncated();
                    _bufferStart += direct;
                    destination = destination[direct..];
                    continue;
                }
                if (!Fill()) throw Truncated();
            }
            int n = Math.Min(destination.Length, _bufferLen - _bufferPos);
            _buffer.AsSpan(_bufferPos, n).CopyTo(destination);
            _bufferPos += n;
            destination = destination[n..];
        }
    }

    /// <summary>Reads <paramref name="count"/> bytes into a new array, after checking that they exist.</summary>
    public byte[] ReadBytes(long count)
    {
        if (count < 0 || count > Remaining) throw Truncated();
        if (count > Array.MaxLength) throw new PickleException($"a value of {count} bytes is too large");
        var bytes = new byte[count];
        ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Reads up to and including a newline; returns the text before it (Latin-1).</summary>
    public string ReadLine()
    {
        var sb = new System.Text.StringBuilder();
        while (true)
        {
            byte b = ReadByte();
            if (b == (byte)'\n') return sb.ToString();
            if (sb.Length > 1 << 20) throw new PickleException("a text line in the pickle is implausibly long");
            sb.Append((char)b);
        }
    }

    public ushort ReadUInt16()
    {
        Span<byte> b = stackalloc byte[2];
        ReadExactly(b);
        return BinaryPrimitives.ReadUInt16LittleEndian(b);
    }

    public int ReadInt32()
    {
        Span<byte> b = stackalloc byte[4];
        ReadExactly(b);
        return BinaryPrimitives.ReadInt32LittleEndian(b);
    }

    public uint ReadUInt32()
    {
        Span<byte> b = stackalloc byte[4];
        ReadExactly(b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    public long ReadInt64()
    {
        Span<byte> b = stackalloc byte[8];
        ReadExactly(b);
        return BinaryPrimitives.ReadInt64LittleEndian(b);
    }

    public double ReadDoubleBigEndian()
    {
        Span<byte> b = stackalloc byte[8];
        ReadExactly(b);
        return BinaryPrimitives.ReadDoubleBigEndian(b);
    }
}
