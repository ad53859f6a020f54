using Xunit;

namespace FastSeg.Data.Tests;

public class ImageTests
{
    [Fact]
    public void DecodesAHandMadePngAsRgb()
    {
        // Pixel (x, y) = (10x, 20y, 7): an encoder/decoder pair that swapped channels consistently would pass a
        // round trip, but not this file written without OpenCV.
        var png = TestData.HandMadePng(5, 3, 3, (x, y, c) => (byte)(c == 0 ? 10 * x : c == 1 ? 20 * y : 7));
        using var image = Image.Decode(png);
        Assert.Equal((5, 3, 3, ImageDepth.UInt8), (image.Width, image.Height, image.Channels, image.Depth));
        Assert.Equal(40, image[4, 2, 0]);
        Assert.Equal(40, image[4, 2, 1]);
        Assert.Equal(7, image[4, 2, 2]);
        using var grey = Image.Decode(TestData.HandMadePng(4, 2, 1, (x, y, c) => (byte)(x + 10 * y)), ImageReadMode.Label);
        Assert.Equal(1, grey.Channels);
        Assert.Equal(13, grey[3, 1]);
    }

    [Fact]
    public void RoundTripsPngExactlyIncludingSixteenBitMasks()
    {
        using var rgb = TestData.Gradient(37, 23);
        using var back = Image.Decode(rgb.Encode(ImageFormat.Png));
        Assert.Equal(TestData.Bytes(rgb), TestData.Bytes(back));

        var ids = Enumerable.Range(0, 20 * 10).Select(i => (ushort)(i * 300)).ToArray();
        using var mask16 = Image.FromPixels(ids, 20, 10, 1);
        using var back16 = Image.Decode(mask16.Encode(), ImageReadMode.Label);
        Assert.Equal(ImageDepth.UInt16, back16.Depth);
        Assert.Equal(ids, back16.Pixels16.ToArray());

        using var asColour = Image.Decode(mask16.Encode(), ImageReadMode.Color);
        Assert.Equal((3, ImageDepth.UInt8), (asColour.Channels, asColour.Depth));
    }

    [Fact]
    public void JpegIsCloseAndFilesRoundTrip()
    {
        var dir = TestData.NewTempDir("jpeg");
        using var rgb = TestData.Gradient(64, 48);
        var path = Path.Combine(dir, "a.jpg");
        rgb.Save(path, 95);
        using var back = Image.Read(path);
        var a = TestData.Bytes(rgb);
        var b = TestData.Bytes(back);
        double mean = a.Zip(b, (p, q) => Math.Abs(p - q)).Average();
        Assert.True(mean < 6, $"mean abs error {mean}");
        Directory.Delete(dir, true);
    }

    [Fact]
    public void RejectsTruncatedCorruptAndMissingFilesWithTheFileName()
    {
        var dir = TestData.NewTempDir("bad");
        using var rgb = TestData.Gradient(64, 48);
        var png = rgb.Encode();
        var truncated = Path.Combine(dir, "truncated.png");
        File.WriteAllBytes(truncated, png[..(png.Length / 2)]);
        var e = Assert.Throws<ImageException>(() => Image.Read(truncated));
        Assert.Contains(truncated, e.Message);
        Assert.Contains("truncated PNG", e.Message);

        Assert.Contains("image data: truncated PNG", Assert.Throws<ImageException>(() => Image.Decode(png.AsSpan(0, png.Length - 20))).Message);

        var jpg = rgb.Encode(ImageFormat.Jpeg, 90);
        Assert.Contains("truncated JPEG", Assert.Throws<ImageException>(() => Image.Decode(jpg.AsSpan(0, jpg.Length / 2))).Message);
        var truncatedJpg = Path.Combine(dir, "truncated.jpg");
        File.WriteAllBytes(truncatedJpg, jpg[..(jpg.Length - 40)]);
        e = Assert.Throws<ImageException>(() => Image.Read(truncatedJpg));
        Assert.Contains("truncated JPEG", e.Message);

        var garbage = Path.Combine(dir, "garbage.png");
        File.WriteAllBytes(garbage, Enumerable.Range(0, 500).Select(i => (byte)(i * 7)).ToArray());
        e = Assert.Throws<ImageException>(() => Image.Read(garbage));
        Assert.Contains(garbage, e.Message);
        Assert.Contains("not a readable image", e.Message);

        var empty = Path.Combine(dir, "empty.png");
        File.WriteAllBytes(empty, Array.Empty<byte>());
        Assert.Contains("empty file", Assert.Throws<ImageException>(() => Image.Read(empty)).Message);

        var missing = Path.Combine(dir, "missing.png");
        e = Assert.Throws<ImageException>(() => Image.Read(missing));
        Assert.Contains(missing, e.Message);
        Assert.Contains("cannot open", e.Message);

        // A colour mask whose channels differ carries no single id per pixel.
        var colourMask = Path.Combine(dir, "colour.png");
        rgb.Save(colourMask);
        Assert.Contains("colour image", Assert.Throws<ImageException>(() => Image.Read(colourMask, ImageReadMode.Label)).Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void FusedNearestResizeEqualsOpenCv()
    {
        using var mask = TestData.Blocks(97, 41, 3, 19);
        foreach (var (w, h) in new[] { (150, 70), (48, 20), (97, 90), (13, 41), (201, 83) })
        {
            using var expected = mask.Resize(w, h, Interpolation.Nearest);
            using var sample = new Sample(TestData.Gradient(97, 41), mask.Clone(), "m");
            sample.Resize(w, h, Interpolation.Linear);
            Assert.Equal(TestData.Bytes(expected), TestData.Bytes(sample.Mask!));
        }
    }

    [Fact]
    public void FusedLinearResizeMatchesOpenCvWithinOneLevel()
    {
        using var image = TestData.Gradient(120, 80);
        foreach (var (w, h) in new[] { (240, 160), (60, 40), (173, 95), (121, 80) })
        {
            using var expected = image.Resize(w, h, Interpolation.Linear);
            using var sample = new Sample(image.Clone(), null, "i");
            sample.Resize(w, h);
            var a = TestData.Bytes(expected);
            var b = TestData.Bytes(sample.Image);
            // Channel 2 (x ^ y) is not smooth; compare the smooth channels exactly to within 1.
            for (int i = 0; i < a.Length; i++)
                if (i % 3 != 2) Assert.True(Math.Abs(a[i] - b[i]) <= 1, $"{w}x{h} element {i}: {a[i]} vs {b[i]}");
        }
    }

    [Theory]
    [InlineData(BorderMode.Constant)]
    [InlineData(BorderMode.Reflect101)]
    [InlineData(BorderMode.Reflect)]
    [InlineData(BorderMode.Replicate)]
    public void FusedPadCropFlipEqualsStepByStepOpenCv(BorderMode border)
    {
        using var image = TestData.Gradient(40, 30);
        using var mask = TestData.Blocks(40, 30, 4, 7);
        using var padded = image.Pad(5, 9, 3, 11, border, 9, 8, 7);
        using var paddedMask = mask.Pad(5, 9, 3, 11, border, 255);
        using var cropped = padded.Crop(6, 4, 31, 33);
        using var croppedMask = paddedMask.Crop(6, 4, 31, 33);
        using var expected = cropped.Flip(FlipMode.Horizontal);
        using var expectedMask = croppedMask.Flip(FlipMode.Horizontal);

        using var sample = new Sample(image.Clone(), mask.Clone(), "s");
        sample.Pad(5, 9, 3, 11, border, new double[] { 9, 8, 7 }, 255);
        sample.Crop(6, 4, 31, 33);
        sample.Flip(FlipMode.Horizontal);
        Assert.True(sample.HasPendingGeometry);
        Assert.Equal((31, 33), (sample.Width, sample.Height));
        Assert.Equal(TestData.Bytes(expected), TestData.Bytes(sample.Image));
        Assert.Equal(TestData.Bytes(expectedMask), TestData.Bytes(sample.Mask!));
    }

    [Fact]
    public void CropAndPadAfterAFlipAreMirroredCorrectly()
    {
        using var image = TestData.Gradient(30, 20);
        using var flipped = image.Flip(FlipMode.Both);
        using var crop = flipped.Crop(4, 3, 17, 12);
        using var expected = crop.Pad(1, 2, 3, 4, BorderMode.Constant, 0);
        using var sample = new Sample(image.Clone(), null, "s");
        sample.Flip(FlipMode.Both);
        sample.Crop(4, 3, 17, 12);
        // A pad after a crop starts a new pass; both must agree with the step-by-step result.
        sample.Pad(1, 2, 3, 4, BorderMode.Constant, new double[] { 0 }, 255);
        Assert.Equal(TestData.Bytes(expected), TestData.Bytes(sample.Image));
    }

    [Fact]
    public void ColourAdjustmentsFollowTheTorchvisionFormulas()
    {
        var px = new byte[] { 10, 100, 200, 250, 250, 250, 0, 0, 0, 128, 64, 32 };
        using (var img = Image.FromPixels(px, 2, 2, 3))
        {
            img.Adjust(ColorAdjustment.Brightness, 1.5);
            Assert.Equal(px.Select(v => (byte)Math.Min(255, (int)(v * 1.5))).ToArray(), TestData.Bytes(img));
        }
        using (var img = Image.FromPixels(px, 2, 2, 3))
        {
            using var grey = img.ConvertColor(ColorConversion.RgbToGray);
            double mean = grey.Pixels.ToArray().Average(b => (double)b);
            img.Adjust(ColorAdjustment.Contrast, 0.5);
            Assert.Equal(px.Select(v => (byte)Math.Clamp((int)(v * 0.5 + mean * 0.5), 0, 255)).ToArray(), TestData.Bytes(img));
        }
        using (var img = Image.FromPixels(px, 2, 2, 3))
        {
            img.Adjust(ColorAdjustment.Saturation, 0.0);
            var b = TestData.Bytes(img);
            for (int i = 0; i < 4; i++) Assert.True(b[3 * i] == b[3 * i + 1] && b[3 * i + 1] == b[3 * i + 2]);
        }
        using (var img = Image.FromPixels(px, 2, 2, 3))
        {
            img.Adjust(ColorAdjustment.Hue, 0.0);
            Assert.Equal(px, TestData.Bytes(img));
            img.Adjust(ColorAdjustment.Hue, 0.5);
            // Grey pixels keep their value under any hue shift.
            Assert.Equal(new byte[] { 250, 250, 250, 0, 0, 0 }, TestData.Bytes(img)[3..9]);
            Assert.Throws<ImageException>(() => img.Adjust(ColorAdjustment.Hue, 0.7));
        }
    }

    [Fact]
    public void ConvertsToNormalisedChwAndInt64Tensors()
    {
        using var image = TestData.Gradient(6, 4);
        using var t = image.ToTensor(new[] { 0.5, 0.25, 0.0 }, new[] { 0.5, 0.25, 1.0 });
        Assert.Equal(new long[] { 3, 4, 6 }, t.shape);
        var v = t.ToArray<float>();
        // Channel 0 at (x=5, y=3): (5/255 - 0.5) / 0.5; channel 1 at (x=2, y=3): (3/255 - 0.25) / 0.25.
        Assert.Equal((5 / 255.0 - 0.5) / 0.5, v[0 * 24 + 3 * 6 + 5], 5);
        Assert.Equal((3 / 255.0 - 0.25) / 0.25, v[1 * 24 + 3 * 6 + 2], 5);
        Assert.Equal((5 ^ 3) / 255.0, v[2 * 24 + 3 * 6 + 5], 5);
        using var mask = TestData.Blocks(6, 4, 2, 5);
        using var m = mask.ToMaskTensor();
        Assert.Equal(FastSeg.Torch.torch.ScalarType.Int64, m.dtype);
        Assert.Equal(mask.Pixels.ToArray().Select(b => (long)b).ToArray(), m.ToArray<long>());
    }

    [Fact]
    public void AreaResizeAndColourConversionsWork()
    {
        using var image = TestData.Gradient(64, 32);
        using var small = image.Resize(16, 8, Interpolation.Area);
        Assert.Equal((16, 8), (small.Width, small.Height));
        // Area averaging of the x channel over 4 columns: mean of 4k..4k+3.
        Assert.InRange(small[3, 0, 0], 13, 14);
        using var bgr = image.ConvertColor(ColorConversion.RgbToBgr);
        Assert.Equal(image[5, 7, 0], bgr[5, 7, 2]);
        using var rgba = image.ConvertColor(ColorConversion.RgbToRgba);
        Assert.Equal((4, 255), (rgba.Channels, rgba[1, 1, 3]));
        Assert.Throws<ImageException>(() => image.Crop(60, 0, 10, 10));
    }
}
