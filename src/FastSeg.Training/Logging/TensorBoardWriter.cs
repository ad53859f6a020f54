using System.Buffers.Binary;
using System.Text;

namespace FastSeg.Training.Logging;

/// <summary>
/// Writes TensorBoard event files (<c>events.out.tfevents.&lt;time&gt;.&lt;host&gt;.&lt;pid&gt;.&lt;n&gt;</c>) holding scalars, without
/// TensorFlow: each record is TFRecord-framed (length, masked CRC-32C of the length, an <c>Event</c> protocol-buffer
/// message, masked CRC-32C of the message). The first event carries <c>file_version = "brain.Event:2"</c>; every
/// later one a wall time, a step and one <c>Summary.Value</c> with a tag and a float <c>simple_value</c>.
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly Func<double> _clock;

    // Process-wide sequence number in the file name (as PyTorch's SummaryWriter adds the process id and a global
    // counter): two writers created in the same second, in one process or in two, never pick the same name.
    private static int s_sequence = -1;

    /// <summary>Creates a new event file in <paramref name="directory"/> (created if needed).</summary>
    public TensorBoardWriter(string directory) : this(directory, () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0)
    {
    }

    /// <summary>Creates a writer whose wall times come from <paramref name="clock"/> (seconds since the epoch).</summary>
    internal TensorBoardWriter(string directory, Func<double> clock)
    {
        _clock = clock;
        Directory.CreateDirectory(directory);
        double now = clock();
        (Path, _file) = CreateUnique(directory, (long)now);
        var first = new List<byte>();
        WallTime(first, now);
        Bytes(first, 3, Encoding.UTF8.GetBytes("brain.Event:2"));
        WriteRecord(first.ToArray());
    }

    /// <summary>The next sequence number a writer of this process will try first.</summary>
    internal static int NextSequence => Volatile.Read(ref s_sequence) + 1;

    /// <summary>
    /// Opens <c>events.out.tfevents.&lt;seconds&gt;.&lt;host&gt;.&lt;pid&gt;.&lt;n&gt;</c> with the first free
    /// sequence number: a file left by an earlier run (a resume into the same folder) is skipped, never overwritten.
    /// </summary>
    private static (string, FileStream) CreateUnique(string directory, long seconds)
    {
        string stem = $"events.out.tfevents.{seconds}.{Environment.MachineName}.{Environment.ProcessId}.";
        while (true)
        {
            string path = System.IO.Path.Combine(directory, stem + Interlocked.Increment(ref s_sequence));
            if (File.Exists(path)) continue;
            try
            {
                return (path, new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read));
            }
            catch (IOException) when (File.Exists(path))
            {
                // Created by another writer between the check and the open: take the next number.
            }
        }
    }

    /// <summary>The event file.</summary>
    public string Path { get; }

    /// <summary>Adds a scalar <paramref name="value"/> for <paramref name="tag"/> at <paramref name="step"/>.</summary>
    public void AddScalar(string tag, double value, long step)
    {
        var summaryValue = new List<byte>();
        Bytes(summaryValue, 1, Encoding.UTF8.GetBytes(tag));
        summaryValue.Add(0x15); // field 2 (simple_value), fixed32
        Span<byte> f = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(f, (float)value);
        summaryValue.AddRange(f.ToArray());
        var summary = new List<byte>();
        Bytes(summary, 1, summaryValue.ToArray());
        var e = new List<byte>();
        WallTime(e, _clock());
        e.Add(0x10); // field 2 (step), varint
        Varint(e, (ulong)step);
        Bytes(e, 5, summary.ToArray());
        WriteRecord(e.ToArray());
    }

    /// <summary>Writes buffered records to the file.</summary>
    public void Flush() => _file.Flush();

    private static void WallTime(List<byte> into, double seconds)
    {
        into.Add(0x09); // field 1 (wall_time), fixed64 double
        Span<byte> d = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(d, seconds);
        into.AddRange(d.ToArray());
    }

    private static void Bytes(List<byte> into, int field, byte[] payload)
    {
        into.Add((byte)((field << 3) | 2)); // length-delimited
        Varint(into, (ulong)payload.Length);
        into.AddRange(payload);
    }

    private static void Varint(List<byte> into, ulong v)
    {
        while (v >= 0x80)
        {
            into.Add((byte)(v | 0x80));
            v >>= 7;
        }
        into.Add((byte)v);
    }

    private void WriteRecord(byte[] data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc(data));
        _file.Write(header);
        _file.Write(data);
        _file.Write(footer);
    }

    /// <summary>TFRecord's masked CRC-32C: rotate right by 15 and add 0xa282ead8.</summary>
    internal static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C(data);
        return unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8);
    }

    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1; // Castagnoli, reflected
            table[i] = c;
        }
        return table;
    }

    /// <summary>CRC-32C (Castagnoli), as TFRecord frames use.</summary>
    internal static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose() => _file.Dispose();
}
