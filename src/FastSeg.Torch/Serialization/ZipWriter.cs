using System.Buffers.Binary;
using System.Text;

namespace FastSeg.Torch.Serialization;

/// <summary>
/// Writes an uncompressed ("stored") zip archive the way PyTorch's own writer lays it out: each record's data starts
/// at a multiple of 64 bytes (padding goes into an extra field of the local header, id "FB"), which newer PyTorch
/// versions rely on to memory-map tensors. Zip64 fields are used when sizes or offsets pass 4 GiB (or always, when
/// <c>forceZip64</c> is set, which tests use to check that path on small files).
/// </summary>
internal sealed class ZipWriter
{
    private const int Alignment = 64;
    private const uint Saturated = 0xFFFFFFFFu;
    private const ushort DosDate1980 = (1 << 5) | 1; // 1980-01-01: a fixed date keeps output reproducible

    private readonly Stream _out;
    private readonly List<Entry> _entries = new();

    private sealed record Entry(byte[] Name, long Offset, long Size, uint Crc, bool Zip64);

    /// <param name="output">A seekable stream positioned where the archive starts.</param>
    /// <param name="forceZip64">Write Zip64 records and fields even for a small archive (tests use it).</param>
    public ZipWriter(Stream output, bool forceZip64 = false)
    {
        _out = output;
        ForceZip64 = forceZip64;
    }

    private bool ForceZip64 { get; }

    public void Add(string name, byte[] data) => Add(name, data.Length, Crc32.Compute(data), s => s.Write(data));

    /// <summary>Adds a record of <paramref name="size"/> bytes whose CRC is known; <paramref name="writeData"/> writes them.</summary>
    public void Add(string name, long size, uint crc, WriteData writeData)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        long offset = _out.Position;
        bool zip64 = ForceZip64 || size >= Saturated || offset >= Saturated;

        // Extra fields of the local header: Zip64 sizes when needed, then padding up to the alignment.
        int zip64Length = zip64 ? 4 + 16 : 0;
        long dataStartWithoutPad = offset + 30 + nameBytes.Length + zip64Length;
        int pad = (int)((Alignment - (dataStartWithoutPad + 4) % Alignment) % Alignment);
        int extraLength = zip64Length + 4 + pad;

        Span<byte> h = stackalloc byte[30];
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], (ushort)(zip64 ? 45 : 20)); // version needed
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 0x0800); // flags: names are UTF-8
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], 0); // method: stored
        BinaryPrimitives.WriteUInt16LittleEndian(h[10..], 0); // time
        BinaryPrimitives.WriteUInt16LittleEndian(h[12..], DosDate1980);
        BinaryPrimitives.WriteUInt32LittleEndian(h[14..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(h[18..], zip64 ? Saturated : (uint)size);
        BinaryPrimitives.WriteUInt32LittleEndian(h[22..], zip64 ? Saturated : (uint)size);
        BinaryPrimitives.WriteUInt16LittleEndian(h[26..], (ushort)nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[28..], (ushort)extraLength);
        _out.Write(h);
        _out.Write(nameBytes);
        if (zip64)
        {
            Span<byte> z = stackalloc byte[20];
            BinaryPrimitives.WriteUInt16LittleEndian(z, 0x0001);
            BinaryPrimitives.WriteUInt16LittleEndian(z[2..], 16);
            BinaryPrimitives.WriteInt64LittleEndian(z[4..], size);
            BinaryPrimitives.WriteInt64LittleEndian(z[12..], size);
            _out.Write(z);
        }
        Span<byte> padHeader = stackalloc byte[4];
        padHeader[0] = (byte)'F';
        padHeader[1] = (byte)'B';
        BinaryPrimitives.WriteUInt16LittleEndian(padHeader[2..], (ushort)pad);
        _out.Write(padHeader);
        if (pad > 0) _out.Write(new byte[pad]);

        long before = _out.Position;
        writeData(_out);
        if (_out.Position - before != size)
            throw new InvalidOperationException($"zip record '{name}': {_out.Position - before} bytes written, {size} announced");
        _entries.Add(new Entry(nameBytes, offset, size, crc, zip64));
    }

    public delegate void WriteData(Stream output);

    /// <summary>Writes the central directory and the end records.</summary>
    public void Finish()
    {
        long cdStart = _out.Position;
        Span<byte> h = stackalloc byte[46];
        Span<byte> z = stackalloc byte[28];
        foreach (var e in _entries)
        {
            bool bigSize = ForceZip64 || e.Size >= Saturated;
            bool bigOffset = ForceZip64 || e.Offset >= Saturated;
            int zip64Length = (bigSize ? 16 : 0) + (bigOffset ? 8 : 0);
            int extraLength = zip64Length > 0 ? 4 + zip64Length : 0;

            BinaryPrimitives.WriteUInt32LittleEndian(h, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(h[4..], (3 << 8) | 45); // made by: Unix, 4.5
            BinaryPrimitives.WriteUInt16LittleEndian(h[6..], (ushort)(e.Zip64 ? 45 : 20));
            BinaryPrimitives.WriteUInt16LittleEndian(h[8..], 0x0800);
            BinaryPrimitives.WriteUInt16LittleEndian(h[10..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(h[12..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(h[14..], DosDate1980);
            BinaryPrimitives.WriteUInt32LittleEndian(h[16..], e.Crc);
            BinaryPrimitives.WriteUInt32LittleEndian(h[20..], bigSize ? Saturated : (uint)e.Size);
            BinaryPrimitives.WriteUInt32LittleEndian(h[24..], bigSize ? Saturated : (uint)e.Size);
            BinaryPrimitives.WriteUInt16LittleEndian(h[28..], (ushort)e.Name.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(h[30..], (ushort)extraLength);
            BinaryPrimitives.WriteUInt16LittleEndian(h[32..], 0); // comment
            BinaryPrimitives.WriteUInt16LittleEndian(h[34..], 0); // disk
            BinaryPrimitives.WriteUInt16LittleEndian(h[36..], 0); // internal attributes
            BinaryPrimitives.WriteUInt32LittleEndian(h[38..], 0x81A4u << 16); // external: regular file, rw-r--r--
            BinaryPrimitives.WriteUInt32LittleEndian(h[42..], bigOffset ? Saturated : (uint)e.Offset);
            _out.Write(h);
            _out.Write(e.Name);
            if (extraLength > 0)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(z, 0x0001);
                BinaryPrimitives.WriteUInt16LittleEndian(z[2..], (ushort)zip64Length);
                int at = 4;
                if (bigSize)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(z[at..], e.Size); // uncompressed
                    BinaryPrimitives.WriteInt64LittleEndian(z[(at + 8)..], e.Size); // compressed
                    at += 16;
                }
                if (bigOffset)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(z[at..], e.Offset);
                    at += 8;
                }
                _out.Write(z[..at]);
            }
        }
        long cdEnd = _out.Position;
        long cdSize = cdEnd - cdStart;
        bool zip64End = ForceZip64 || _entries.Count >= 0xFFFF || cdStart >= Saturated || cdSize >= Saturated ||
                        _entries.Any(e => e.Zip64);

        if (zip64End)
        {
            Span<byte> r = stackalloc byte[56];
            BinaryPrimitives.WriteUInt32LittleEndian(r, 0x06064b50);
            BinaryPrimitives.WriteInt64LittleEndian(r[4..], 44); // size of the rest of this record
            BinaryPrimitives.WriteUInt16LittleEndian(r[12..], (3 << 8) | 45);
            BinaryPrimitives.WriteUInt16LittleEndian(r[14..], 45);
            BinaryPrimitives.WriteUInt32LittleEndian(r[16..], 0); // this disk
            BinaryPrimitives.WriteUInt32LittleEndian(r[20..], 0); // disk with the central directory
            BinaryPrimitives.WriteInt64LittleEndian(r[24..], _entries.Count);
            BinaryPrimitives.WriteInt64LittleEndian(r[32..], _entries.Count);
            BinaryPrimitives.WriteInt64LittleEndian(r[40..], cdSize);
            BinaryPrimitives.WriteInt64LittleEndian(r[48..], cdStart);
            _out.Write(r);

            Span<byte> locator = stackalloc byte[20];
            BinaryPrimitives.WriteUInt32LittleEndian(locator, 0x07064b50);
            BinaryPrimitives.WriteUInt32LittleEndian(locator[4..], 0);
            BinaryPrimitives.WriteInt64LittleEndian(locator[8..], cdEnd);
            BinaryPrimitives.WriteUInt32LittleEndian(locator[16..], 1); // total disks
            _out.Write(locator);
        }

        Span<byte> end = stackalloc byte[22];
        bool saturate = ForceZip64;
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
        ushort count = saturate || _entries.Count >= 0xFFFF ? (ushort)0xFFFF : (ushort)_entries.Count;
        BinaryPrimitives.WriteUInt16LittleEndian(end[8..], count);
        BinaryPrimitives.WriteUInt16LittleEndian(end[10..], count);
        BinaryPrimitives.WriteUInt32LittleEndian(end[12..], saturate || cdSize >= Saturated ? Saturated : (uint)cdSize);
        BinaryPrimitives.WriteUInt32LittleEndian(end[16..], saturate || cdStart >= Saturated ? Saturated : (uint)cdStart);
        _out.Write(end);
    }
}
