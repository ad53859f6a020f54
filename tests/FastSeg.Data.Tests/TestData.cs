using System.IO.Compression;
using System.Text;
using Xunit;

namespace FastSeg.Data.Tests;

/// <summary>A small synthetic Cityscapes tree shared by the tests (generated once per test run).</summary>
public sealed class CityscapesFixture : IDisposable
{
    public CityscapesFixture()
    {
        Root = TestData.NewTempDir("cityscapes");
        Files = SyntheticCityscapes.Generate(Root, new SyntheticCityscapesOptions
        {
            Width = 128, Height = 64, TrainCount = 8, ValCount = 2, TestCount = 2, Seed = 7, PngCompression = 1,
        });
    }

    public string Root { get; }

    public IReadOnlyList<SampleFiles> Files { get; }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

[CollectionDefinition("cityscapes")]
public sealed class CityscapesCollection : ICollectionFixture<CityscapesFixture>
{
}

public static class TestData
{
    public static string NewTempDir(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "fastseg-data-tests", $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>An RGB image whose pixels encode their position: R = x, G = y, B = x ^ y (mod 256).</summary>
    public static Image Gradient(int width, int height)
    {
        var px = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = (y * width + x) * 3;
                px[i] = (byte)x;
                px[i + 1] = (byte)y;
                px[i + 2] = (byte)(x ^ y);
            }
        return Image.FromPixels(px, width, height, 3);
    }

    /// <summary>A mask of blocks with labels 0..classes-1.</summary>
    public static Image Blocks(int width, int height, int block, int classes)
    {
        var px = new byte[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                px[y * width + x] = (byte)(((x / block) + 3 * (y / block)) % classes);
        return Image.FromPixels(px, width, height, 1);
    }

    /// <summary>Paints each pixel with the palette colour of its label (so image and mask can be checked for alignment).</summary>
    public static Image Paint(Image mask, IReadOnlyList<Rgb> palette)
    {
        var m = mask.Pixels;
        var px = new byte[m.Length * 3];
        for (int i = 0; i < m.Length; i++)
        {
            var c = palette[m[i]];
            px[3 * i] = c.R;
            px[3 * i + 1] = c.G;
            px[3 * i + 2] = c.B;
        }
        return Image.FromPixels(px, mask.Width, mask.Height, 3);
    }

    /// <summary>
    /// A PNG written by hand (no OpenCV involved): 8-bit RGB (colour type 2) or grey (0), filter 0 on every row. Used to
    /// check the channel order and the decoder independently of our encoder.
    /// </summary>
    public static byte[] HandMadePng(int width, int height, int channels, Func<int, int, int, byte> pixel)
    {
        var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0);
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++) raw.WriteByte(pixel(x, y, c));
        }
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(zs);
        var png = new MemoryStream();
        png.Write(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A });
        var ihdr = new byte[13];
        BigEndian(ihdr, 0, (uint)width);
        BigEndian(ihdr, 4, (uint)height);
        ihdr[8] = 8;
        ihdr[9] = (byte)(channels == 3 ? 2 : 0);
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", z.ToArray());
        Chunk(png, "IEND", Array.Empty<byte>());
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var head = new byte[4];
        BigEndian(head, 0, (uint)data.Length);
        s.Write(head);
        var body = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(body);
        var crc = new byte[4];
        BigEndian(crc, 0, Crc32(body));
        s.Write(crc);
    }

    private static void BigEndian(byte[] b, int at, uint v)
    {
        b[at] = (byte)(v >> 24);
        b[at + 1] = (byte)(v >> 16);
        b[at + 2] = (byte)(v >> 8);
        b[at + 3] = (byte)v;
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }

    public static byte[] Bytes(Image image) => image.Depth == ImageDepth.UInt8 ? image.Pixels.ToArray() : throw new InvalidOperationException();
}
