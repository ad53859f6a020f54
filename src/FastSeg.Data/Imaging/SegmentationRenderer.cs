using FastSeg.Torch;

namespace FastSeg.Data;

/// <summary>
/// The three pictures of a prediction: the class-id image (8-bit, one channel, the train ids), its colours, and the
/// colours blended over the input image. The caller owns (and disposes) it; disposing frees all three images.
/// </summary>
public sealed class RenderedSegmentation : IDisposable
{
    internal RenderedSegmentation(Image classIds, Image color, Image overlay)
    {
        ClassIds = classIds;
        Color = color;
        Overlay = overlay;
    }

    /// <summary>The endings <see cref="Save"/> gives the three files, in its order.</summary>
    public static IReadOnlyList<string> FileSuffixes { get; } = new[] { "_trainIds.png", "_color.png", "_overlay.png" };

    /// <summary>Class ids, 8-bit, one channel, the input's size.</summary>
    public Image ClassIds { get; }

    /// <summary>The class ids painted with the palette (RGB).</summary>
    public Image Color { get; }

    /// <summary>The colours blended over the input image (RGB).</summary>
    public Image Overlay { get; }

    /// <summary>
    /// Writes the three images as PNG files: <c>{stem}_trainIds.png</c>, <c>{stem}_color.png</c> and
    /// <c>{stem}_overlay.png</c> in <paramref name="folder"/> (created if needed). Returns the three paths in that order.
    /// </summary>
    public IReadOnlyList<string> Save(string folder, string stem)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(stem);
        Directory.CreateDirectory(folder);
        var paths = FileSuffixes.Select(suffix => Path.Combine(folder, stem + suffix)).ToArray();
        ClassIds.Save(paths[0]);
        Color.Save(paths[1]);
        Overlay.Save(paths[2]);
        return paths;
    }

    /// <summary>Frees the three images.</summary>
    public void Dispose()
    {
        ClassIds.Dispose();
        Color.Dispose();
        Overlay.Dispose();
    }
}

/// <summary>
/// Turns predicted class ids into pictures: an 8-bit class-id image, a colour image (<see cref="Palette.Colorize"/>)
/// and an overlay of the colours on the input image.
/// </summary>
public static class SegmentationRenderer
{
    /// <summary>
    /// Class ids of shape (H, W) or (1, H, W), any integer dtype, as an 8-bit one-channel image of width W and height H.
    /// </summary>
    /// <exception cref="ArgumentException">Another shape, a floating-point tensor, or ids outside 0–255.</exception>
    public static Image ClassIdImage(torch.Tensor classIds)
    {
        ArgumentNullException.ThrowIfNull(classIds);
        var shape = classIds.shape;
        bool fits = shape.Length == 2 || (shape.Length == 3 && shape[0] == 1);
        if (!fits || torch.is_floating_point(classIds.dtype) || classIds.dtype == torch.ScalarType.Bool)
            throw new ArgumentException($"class ids must be an integer tensor of shape (H, W) or (1, H, W), got {classIds.dtype} [{string.Join(", ", shape)}]", nameof(classIds));
        int height = checked((int)shape[^2]), width = checked((int)shape[^1]);
        using var scope = torch.NewDisposeScope();
        if (classIds.numel() > 0)
        {
            long min = classIds.min().item<long>(), max = classIds.max().item<long>();
            if (min < 0 || max > 255)
                throw new ArgumentException($"class ids must lie in 0..255 to fit an 8-bit image, got {min}..{max}", nameof(classIds));
        }
        var bytes = classIds.to_type(torch.ScalarType.Byte).contiguous();
        var image = new Image(width, height, 1);
        try
        {
            bytes.CopyTo(image.Pixels);
            return image;
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Blends <paramref name="color"/> over <paramref name="image"/>: <c>round((1 - alpha) · image + alpha · color)</c>
    /// per element (halves rounded up). Both must be 8-bit RGB of the same size; a one-channel (grey) image is
    /// expanded to RGB first.
    /// </summary>
    /// <param name="image">The input picture.</param>
    /// <param name="color">The colour layer (e.g. from <see cref="Palette.Colorize"/>).</param>
    /// <param name="alpha">The colour layer's weight, 0 (image only) to 1 (colours only).</param>
    /// <exception cref="ArgumentException">Sizes or formats differ, or alpha is outside [0, 1].</exception>
    public static Image Overlay(Image image, Image color, double alpha = 0.5)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(color);
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "the overlay alpha must be in [0, 1]");
        if (color.Channels != 3 || color.Depth != ImageDepth.UInt8)
            throw new ArgumentException($"the colour layer must be 8-bit RGB, got {color.Describe()}", nameof(color));
        if (image.Width != color.Width || image.Height != color.Height)
            throw new ArgumentException($"the image is {image.Width}x{image.Height} but the colour layer {color.Width}x{color.Height}", nameof(color));
        if (image.Depth != ImageDepth.UInt8 || image.Channels is not (1 or 3))
            throw new ArgumentException($"the image must be 8-bit grey or RGB, got {image.Describe()}", nameof(image));
        using var rgb = image.Channels == 1 ? image.ConvertColor(ColorConversion.GrayToRgb) : null;
        // Two 256-entry tables hold each source's weighted values (the +0.5 of the rounding folded into one), so a
        // pixel costs two look-ups, an add and a truncation.
        var fromImage = new double[256];
        var fromColor = new double[256];
        for (int v = 0; v < 256; v++)
        {
            fromImage[v] = (1 - alpha) * v;
            fromColor[v] = alpha * v + 0.5;
        }
        var result = new Image(image.Width, image.Height, 3);
        var a = (rgb ?? image).Pixels;
        var b = color.Pixels;
        var dst = result.Pixels;
        for (int i = 0; i < dst.Length; i++)
            dst[i] = (byte)Math.Min(255, (int)(fromImage[a[i]] + fromColor[b[i]]));
        return result;
    }

    /// <summary>
    /// The class-id image, its colours and the overlay for one prediction. <paramref name="classIds"/>: (H, W) or
    /// (1, H, W) integer ids with the image's size.
    /// </summary>
    /// <exception cref="ArgumentException">The ids do not have the image's size, or are not 0–255.</exception>
    public static RenderedSegmentation Render(Image image, torch.Tensor classIds, Palette palette, double alpha = 0.5)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(palette);
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "the overlay alpha must be in [0, 1]");
        var ids = ClassIdImage(classIds);
        Image? colour = null;
        try
        {
            if (ids.Width != image.Width || ids.Height != image.Height)
                throw new ArgumentException($"the class ids are {ids.Width}x{ids.Height} but the image is {image.Width}x{image.Height}", nameof(classIds));
            colour = palette.Colorize(ids);
            var overlay = Overlay(image, colour, alpha);
            return new RenderedSegmentation(ids, colour, overlay);
        }
        catch
        {
            ids.Dispose();
            colour?.Dispose();
            throw;
        }
    }
}
