using StbImageSharp;
using StbImageWriteSharp;

namespace OnnxDeploy;

/// <summary>
/// The pictures <c>fastseg predict</c> writes, made the same way: the class-id PNG (8-bit grey, the train ids), the
/// ids painted with the palette, and the colours blended over the image, <c>round((1 - alpha)·image + alpha·colour)</c>.
/// </summary>
public static class Pictures
{
    /// <summary>The Cityscapes benchmark's colours of its 19 train ids (road, sidewalk, ..., bicycle).</summary>
    public static IReadOnlyList<(byte R, byte G, byte B)> Cityscapes { get; } =
    [
        (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153), (153, 153, 153), (250, 170, 30),
        (220, 220, 0), (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142),
        (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
    ];

    /// <summary>
    /// FastSeg's colours for other class counts: the bits of the class id spread over the high bits of r, g and b
    /// (the PASCAL VOC scheme), as FastSeg's <c>Palette.Generated</c>.
    /// </summary>
    public static IReadOnlyList<(byte R, byte G, byte B)> Generated(int count)
    {
        var colours = new (byte, byte, byte)[count];
        for (int k = 0; k < count; k++)
        {
            int r = 0, g = 0, b = 0, c = k;
            for (int j = 0; j < 8; j++)
            {
                r |= (c & 1) << (7 - j);
                g |= ((c >> 1) & 1) << (7 - j);
                b |= ((c >> 2) & 1) << (7 - j);
                c >>= 3;
            }
            colours[k] = ((byte)r, (byte)g, (byte)b);
        }
        return colours;
    }

    /// <summary>Reads a PNG, JPEG or BMP file as 8-bit RGB (grey and alpha converted).</summary>
    public static (byte[] Rgb, int Width, int Height) Read(string path)
    {
        using var stream = File.OpenRead(path);
        var image = ImageResult.FromStream(stream, StbImageSharp.ColorComponents.RedGreenBlue);
        return (image.Data, image.Width, image.Height);
    }

    /// <summary>Writes <c>{stem}_trainIds.png</c>, <c>{stem}_color.png</c> and <c>{stem}_overlay.png</c> into <paramref name="folder"/>; returns the three paths.</summary>
    public static string[] Save(string folder, string stem, byte[] rgb, byte[] ids, int width, int height,
        IReadOnlyList<(byte R, byte G, byte B)> palette, double alpha)
    {
        Directory.CreateDirectory(folder);
        var color = new byte[ids.Length * 3];
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] >= palette.Count) throw new InvalidDataException($"class id {ids[i]} has no colour in a palette of {palette.Count}");
            var (r, g, b) = palette[ids[i]];
            (color[3 * i], color[3 * i + 1], color[3 * i + 2]) = (r, g, b);
        }
        var overlay = new byte[rgb.Length];
        for (int i = 0; i < rgb.Length; i++)
            overlay[i] = (byte)Math.Min(255, (int)((1 - alpha) * rgb[i] + (alpha * color[i] + 0.5)));
        string[] paths = [Path.Combine(folder, stem + "_trainIds.png"), Path.Combine(folder, stem + "_color.png"), Path.Combine(folder, stem + "_overlay.png")];
        WritePng(paths[0], ids, width, height, StbImageWriteSharp.ColorComponents.Grey);
        WritePng(paths[1], color, width, height, StbImageWriteSharp.ColorComponents.RedGreenBlue);
        WritePng(paths[2], overlay, width, height, StbImageWriteSharp.ColorComponents.RedGreenBlue);
        return paths;
    }

    private static void WritePng(string path, byte[] pixels, int width, int height, StbImageWriteSharp.ColorComponents components)
    {
        using var stream = File.Create(path);
        new ImageWriter().WritePng(pixels, width, height, components, stream);
    }
}
