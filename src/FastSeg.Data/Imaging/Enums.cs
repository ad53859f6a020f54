namespace FastSeg.Data;

/// <summary>Element type of an <see cref="Image"/>.</summary>
public enum ImageDepth
{
    /// <summary>8-bit unsigned (colour images and most label masks).</summary>
    UInt8 = 0,
    /// <summary>16-bit unsigned (label masks with many ids, kept as stored).</summary>
    UInt16 = 2,
}

/// <summary>How a file is decoded.</summary>
public enum ImageReadMode
{
    /// <summary>8-bit RGB, 3 channels; grey or 16-bit files are converted.</summary>
    Color = 0,
    /// <summary>8-bit, 1 channel.</summary>
    Grayscale = 1,
    /// <summary>Depth and channel count as stored (colour reordered to RGB/RGBA).</summary>
    Unchanged = 2,
    /// <summary>
    /// A label mask: one channel, 8- or 16-bit as stored. A colour file whose channels are all equal gives its first
    /// channel; any other colour file is rejected, since its ids cannot be recovered.
    /// </summary>
    Label = 3,
}

/// <summary>Resampling rule (OpenCV's codes and index conventions).</summary>
public enum Interpolation
{
    /// <summary>Nearest neighbour with OpenCV's rule <c>src = floor(dst * src_size / dst_size)</c>; the only choice for masks.</summary>
    Nearest = 0,
    /// <summary>Bilinear with pixel centres aligned (<c>(dst + 0.5) * scale - 0.5</c>), as cv2.resize.</summary>
    Linear = 1,
    /// <summary>Pixel-area averaging (cv2.INTER_AREA), best for shrinking; runs as a separate resize step.</summary>
    Area = 3,
}

/// <summary>How pixels outside an image are made up when padding.</summary>
public enum BorderMode
{
    /// <summary>A constant value.</summary>
    Constant = 0,
    /// <summary>The edge pixel repeated (<c>aaa|abcd|ddd</c>).</summary>
    Replicate = 1,
    /// <summary>Mirrored including the edge (<c>cba|abcd|dcb</c>).</summary>
    Reflect = 2,
    /// <summary>Mirrored around the edge pixel (<c>dcb|abcd|cba</c>); albumentations' and OpenCV's default.</summary>
    Reflect101 = 4,
}

/// <summary>Colour conversions of <see cref="Image.ConvertColor(ColorConversion)"/>.</summary>
public enum ColorConversion
{
    /// <summary>RGB to one grey channel (ITU-R 601 weights).</summary>
    RgbToGray = 0,
    /// <summary>One grey channel to three equal channels.</summary>
    GrayToRgb = 1,
    /// <summary>Swaps the first and third channel (RGB to BGR and back).</summary>
    RgbToBgr = 2,
    /// <summary>RGB to 8-bit HSV (H in [0, 180)).</summary>
    RgbToHsv = 3,
    /// <summary>8-bit HSV back to RGB.</summary>
    HsvToRgb = 4,
    /// <summary>Drops the alpha channel.</summary>
    RgbaToRgb = 5,
    /// <summary>Adds an opaque alpha channel.</summary>
    RgbToRgba = 6,
}

/// <summary>Axis of <see cref="Image.Flip(FlipMode)"/>.</summary>
public enum FlipMode
{
    /// <summary>Upside down.</summary>
    Vertical = 0,
    /// <summary>Mirror left-right.</summary>
    Horizontal = 1,
    /// <summary>Both axes (a 180° rotation).</summary>
    Both = -1,
}

/// <summary>Encoded image formats.</summary>
public enum ImageFormat
{
    /// <summary>Lossless PNG (8- or 16-bit).</summary>
    Png,
    /// <summary>Lossy JPEG (8-bit).</summary>
    Jpeg,
}

/// <summary>The four photometric adjustments of <see cref="Image.Adjust(ColorAdjustment, double)"/>.</summary>
public enum ColorAdjustment
{
    /// <summary><c>v * f</c>, clipped to [0, 255].</summary>
    Brightness = 0,
    /// <summary><c>v * f + mean(grey) * (1 - f)</c>, clipped.</summary>
    Contrast = 1,
    /// <summary>Blend with the grey image: <c>v * f + grey * (1 - f)</c>.</summary>
    Saturation = 2,
    /// <summary>Hue rotation by <c>f</c> turns (f in [-0.5, 0.5]) in 8-bit HSV.</summary>
    Hue = 3,
}
