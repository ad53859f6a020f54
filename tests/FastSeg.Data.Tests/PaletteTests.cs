using FastSeg.Torch;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Data.Tests;

public class PaletteTests
{
    [Fact]
    public void CityscapesPaletteHasTheBenchmarkColoursOfThe19TrainIds()
    {
        var p = Palette.Cityscapes;
        Assert.Equal(19, p.Count);
        Assert.Equal(new Rgb(128, 64, 128), p[0]);   // road
        Assert.Equal(new Rgb(70, 130, 180), p[10]);  // sky
        Assert.Equal(new Rgb(119, 11, 32), p[18]);   // bicycle
    }

    [Fact]
    public void ParsesEveryLineFormat()
    {
        const string text = "# my palette\r\n" +
                            "128 64 128 road\r\n" +
                            "\r\n" +
                            "  244,35,232  \n" +
                            "#46464a\n" +
                            "#\n" +
                            "#FFfF00 sign, yellow\n" +
                            "0\t0\t142\n";
        var p = Palette.Parse(text, "mine.txt");
        Assert.Equal(new[] { new Rgb(128, 64, 128), new Rgb(244, 35, 232), new Rgb(70, 70, 74), new Rgb(255, 255, 0), new Rgb(0, 0, 142) }, p.Colors);
        Assert.Equal(p.Colors, Palette.Parse(p.ToText()).Colors);
    }

    [Theory]
    [InlineData("1 2 3\n12 300 4\n", 2, "'300' is not a colour value (0-255)")]
    [InlineData("1 2 3\n\n# c\n12 34\n", 4, "expected \"r g b\" (three numbers 0-255) or \"#rrggbb\", got \"12 34\"")]
    [InlineData("#12345\n", 1, "'#12345' is not a colour: expected # and six hexadecimal digits")]
    [InlineData("1 2 3\n#12345g\n", 2, "'#12345g' is not a colour")]
    [InlineData("red green blue\n", 1, "'red' is not a colour value")]
    [InlineData("1 -2 3\n", 1, "'-2' is not a colour value")]
    public void BadLinesNameTheFileAndLine(string text, int line, string problem)
    {
        var e = Assert.Throws<PaletteFormatException>(() => Palette.Parse(text, "p.txt"));
        Assert.StartsWith($"p.txt:{line}: ", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.Equal(line, e.LineNumber);
        Assert.Equal("p.txt", e.SourceName);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void EmptyOrOversizedPalettesAreRejected()
    {
        var e = Assert.Throws<PaletteFormatException>(() => Palette.Parse("# nothing\n\n", "empty.txt"));
        Assert.Equal("empty.txt: no colours (expected one \"r g b\" or \"#rrggbb\" per line)", e.Message);
        var tooMany = string.Concat(Enumerable.Repeat("1 2 3\n", 257));
        var e2 = Assert.Throws<PaletteFormatException>(() => Palette.Parse(tooMany, "big.txt"));
        Assert.StartsWith("big.txt:257: more than 256 colours", e2.Message);
    }

    [Fact]
    public void LoadNamesAMissingFile()
    {
        var path = Path.Combine(TestData.NewTempDir("palette"), "none.txt");
        var e = Assert.Throws<FileNotFoundException>(() => Palette.Load(path));
        Assert.Equal($"{path}: palette file not found", e.Message);
        File.WriteAllText(path, "0 0 0\n1 1 1\nnope\n");
        var e2 = Assert.Throws<PaletteFormatException>(() => Palette.Load(path));
        Assert.StartsWith($"{path}:3: ", e2.Message);
    }

    [Fact]
    public void GeneratedPaletteIsVocs()
    {
        var p = Palette.Generated(5);
        Assert.Equal(new[] { new Rgb(0, 0, 0), new Rgb(128, 0, 0), new Rgb(0, 128, 0), new Rgb(128, 128, 0), new Rgb(0, 0, 128) }, p.Colors);
    }

    [Fact]
    public void ColorizePaintsEachIdAndIdsWithoutAColourBlack()
    {
        var palette = new Palette(new[] { new Rgb(10, 20, 30), new Rgb(40, 50, 60), new Rgb(255, 0, 128) });
        var ids = new byte[] { 0, 1, 2, 2, 255, 3, 1, 0 };
        using var image = Image.FromPixels(ids, 4, 2, 1);
        using var colour = palette.Colorize(image);
        Assert.Equal((4, 2, 3), (colour.Width, colour.Height, colour.Channels));
        for (int i = 0; i < ids.Length; i++)
        {
            var expected = ids[i] < palette.Count ? palette[ids[i]] : new Rgb(0, 0, 0);
            Assert.Equal(expected, new Rgb(colour.Pixels[3 * i], colour.Pixels[3 * i + 1], colour.Pixels[3 * i + 2]));
        }
        using var rgb = Image.FromPixels(new byte[12], 2, 2, 3);
        Assert.Throws<ArgumentException>(() => palette.Colorize(rgb));
    }
}

public class SegmentationRendererTests
{
    [Fact]
    public void ClassIdImageHoldsTheIdsAsBytes()
    {
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 0, 1, 2, 18, 255, 7 }, new long[] { 2, 3 });
        using var image = SegmentationRenderer.ClassIdImage(ids);
        Assert.Equal((3, 2, 1, ImageDepth.UInt8), (image.Width, image.Height, image.Channels, image.Depth));
        Assert.Equal(new byte[] { 0, 1, 2, 18, 255, 7 }, image.Pixels.ToArray());
        using var fromBatch = SegmentationRenderer.ClassIdImage(ids.unsqueeze(0).to_type(ScalarType.Int32));
        Assert.Equal(image.Pixels.ToArray(), fromBatch.Pixels.ToArray());
    }

    [Fact]
    public void ClassIdImageRejectsWhatAByteCannotHold()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => SegmentationRenderer.ClassIdImage(tensor(new long[] { 0, 256 }, new long[] { 1, 2 })));
        Assert.Contains("0..256", e.Message);
        Assert.Throws<ArgumentException>(() => SegmentationRenderer.ClassIdImage(tensor(new long[] { -1, 2 }, new long[] { 1, 2 })));
        Assert.Throws<ArgumentException>(() => SegmentationRenderer.ClassIdImage(zeros(4, 4)));
        Assert.Throws<ArgumentException>(() => SegmentationRenderer.ClassIdImage(zeros(new long[] { 2, 4, 4 }, ScalarType.Int64)));
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.3)]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void OverlayIsTheAlphaBlendRounded(double alpha)
    {
        using var image = TestData.Gradient(37, 23);
        using var ids = TestData.Blocks(37, 23, 5, 19);
        using var colour = Palette.Cityscapes.Colorize(ids);
        using var overlay = SegmentationRenderer.Overlay(image, colour, alpha);
        Assert.Equal((37, 23, 3), (overlay.Width, overlay.Height, overlay.Channels));
        var a = image.Pixels.ToArray();
        var b = colour.Pixels.ToArray();
        var o = overlay.Pixels.ToArray();
        for (int i = 0; i < o.Length; i++)
        {
            double exact = (1 - alpha) * a[i] + alpha * b[i];
            Assert.True(Math.Abs(o[i] - exact) <= 0.5 + 1e-9, $"element {i}: {o[i]} vs {exact}");
        }
        if (alpha == 0) Assert.Equal(a, o);
        if (alpha == 1) Assert.Equal(b, o);
    }

    [Fact]
    public void OverlayChecksSizesFormatsAndAlpha()
    {
        using var image = TestData.Gradient(8, 4);
        using var small = new Image(4, 4, 3);
        using var grey = new Image(8, 4, 1);
        Assert.Contains("8x4", Assert.Throws<ArgumentException>(() => SegmentationRenderer.Overlay(image, small)).Message);
        Assert.Throws<ArgumentException>(() => SegmentationRenderer.Overlay(image, grey));
        Assert.Throws<ArgumentOutOfRangeException>(() => SegmentationRenderer.Overlay(image, image, 1.5));
        // a grey picture is blended as RGB
        using var greyOverlay = SegmentationRenderer.Overlay(grey, image, 1.0);
        Assert.Equal(image.Pixels.ToArray(), greyOverlay.Pixels.ToArray());
    }

    [Fact]
    public void RenderWritesTheThreePngs()
    {
        using var scope = NewDisposeScope();
        using var image = TestData.Gradient(7, 5);
        var ids = randint(0, 19, new long[] { 5, 7 }, ScalarType.Int64);
        using var rendered = SegmentationRenderer.Render(image, ids, Palette.Cityscapes, 0.25);
        var dir = TestData.NewTempDir("render");
        var paths = rendered.Save(Path.Combine(dir, "sub"), "frame");
        Assert.Equal(new[] { "frame_trainIds.png", "frame_color.png", "frame_overlay.png" }, paths.Select(Path.GetFileName));
        using var labels = Image.Read(paths[0], ImageReadMode.Label);
        Assert.Equal(ids.ToArray<long>().Select(v => (byte)v), labels.Pixels.ToArray());
        using var colour = Image.Read(paths[1]);
        Assert.Equal(rendered.Color.Pixels.ToArray(), colour.Pixels.ToArray());
        using var overlay = Image.Read(paths[2]);
        Assert.Equal(rendered.Overlay.Pixels.ToArray(), overlay.Pixels.ToArray());

        var wrongSize = zeros(new long[] { 5, 6 }, ScalarType.Int64);
        var e = Assert.Throws<ArgumentException>(() => SegmentationRenderer.Render(image, wrongSize, Palette.Cityscapes));
        Assert.Contains("6x5", e.Message);
    }
}
