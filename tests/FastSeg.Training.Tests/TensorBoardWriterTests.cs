using System.Buffers.Binary;
using System.Text;
using FastSeg.Training.Logging;
using Xunit;

namespace FastSeg.Training.Tests;

/// <summary>The event files are read back frame by frame, CRCs checked, and the protocol-buffer events decoded.</summary>
public class TensorBoardWriterTests
{
    [Fact]
    public void Crc32CMatchesTheStandardCheckValue() =>
        Assert.Equal(0xE3069283u, TensorBoardWriter.Crc32C(Encoding.ASCII.GetBytes("123456789")));

    [Fact]
    public void ScalarsAreWrittenAsFramedEvents()
    {
        var dir = Path.Combine(Path.GetTempPath(), "fastseg-tb-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            string path;
            using (var writer = new TensorBoardWriter(dir))
            {
                writer.AddScalar("train/loss", 1.25, 7);
                writer.AddScalar("val/mIoU", 0.5, 300);
                path = writer.Path;
            }
            Assert.StartsWith("events.out.tfevents.", Path.GetFileName(path));
            var records = ReadRecords(File.ReadAllBytes(path));
            Assert.Equal(3, records.Count);
            Assert.Contains("brain.Event:2", Encoding.UTF8.GetString(records[0]));
            Assert.Equal(("train/loss", 1.25f, 7L), Decode(records[1]));
            Assert.Equal(("val/mIoU", 0.5f, 300L), Decode(records[2]));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// Two writers started in the same second into one folder (a resume, or a second trainer) get two files, and a
    /// file an earlier run left under the name a writer would try first is skipped and left as it was.
    /// </summary>
    [Fact]
    public void WritersStartedInTheSameSecondGetTheirOwnFiles()
    {
        var dir = Path.Combine(Path.GetTempPath(), "fastseg-tb-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Func<double> sameSecond = () => 1796523173.25;
            Directory.CreateDirectory(dir);
            // What an earlier process with this id left behind, under the next names this one would try.
            var leftOver = Enumerable.Range(TensorBoardWriter.NextSequence, 3)
                .Select(n => Path.Combine(dir, $"events.out.tfevents.1796523173.{Environment.MachineName}.{Environment.ProcessId}.{n}"))
                .ToList();
            foreach (var path in leftOver) File.WriteAllText(path, "earlier run");
            string first, second;
            using (var a = new TensorBoardWriter(dir, sameSecond))
            using (var b = new TensorBoardWriter(dir, sameSecond))
            {
                a.AddScalar("train/loss", 1.0, 1);
                b.AddScalar("train/loss", 2.0, 1);
                (first, second) = (a.Path, b.Path);
            }
            Assert.NotEqual(first, second);
            Assert.DoesNotContain(first, leftOver);
            Assert.DoesNotContain(second, leftOver);
            Assert.Equal(("train/loss", 1.0f, 1L), Decode(ReadRecords(File.ReadAllBytes(first))[1]));
            Assert.Equal(("train/loss", 2.0f, 1L), Decode(ReadRecords(File.ReadAllBytes(second))[1]));
            Assert.All(leftOver, path => Assert.Equal("earlier run", File.ReadAllText(path)));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static List<byte[]> ReadRecords(byte[] file)
    {
        var records = new List<byte[]>();
        int pos = 0;
        while (pos < file.Length)
        {
            var header = file.AsSpan(pos, 8);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            Assert.Equal(TensorBoardWriter.MaskedCrc(header), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos + 8, 4)));
            var data = file.AsSpan(pos + 12, (int)length).ToArray();
            Assert.Equal(TensorBoardWriter.MaskedCrc(data), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos + 12 + (int)length, 4)));
            records.Add(data);
            pos += 16 + (int)length;
        }
        return records;
    }

    // Event { double wall_time = 1; int64 step = 2; Summary summary = 5 } / Summary { Value value = 1 } /
    // Value { string tag = 1; float simple_value = 2 }
    private static (string tag, float value, long step) Decode(byte[] e)
    {
        long step = -1;
        string tag = "";
        float value = float.NaN;
        int p = 0;
        while (p < e.Length)
        {
            int key = e[p++];
            switch (key)
            {
                case 0x09: p += 8; break;
                case 0x10: step = (long)Varint(e, ref p); break;
                case 0x2a:
                    int len = (int)Varint(e, ref p);
                    var summary = e.AsSpan(p, len).ToArray();
                    p += len;
                    int q = 0;
                    Assert.Equal(0x0a, summary[q++]);
                    int vlen = (int)Varint(summary, ref q);
                    var v = summary.AsSpan(q, vlen).ToArray();
                    int r = 0;
                    Assert.Equal(0x0a, v[r++]);
                    int tlen = (int)Varint(v, ref r);
                    tag = Encoding.UTF8.GetString(v, r, tlen);
                    r += tlen;
                    Assert.Equal(0x15, v[r++]);
                    value = BinaryPrimitives.ReadSingleLittleEndian(v.AsSpan(r, 4));
                    break;
                default: throw new InvalidDataException($"unexpected field key {key:x2}");
            }
        }
        return (tag, value, step);
    }

    private static ulong Varint(byte[] b, ref int p)
    {
        ulong v = 0;
        int shift = 0;
        while (true)
        {
            byte x = b[p++];
            v |= (ulong)(x & 0x7f) << shift;
            if ((x & 0x80) == 0) return v;
            shift += 7;
        }
    }
}
