using Xunit;

namespace FastSeg.Data.Tests;

public class TransformTests
{
    private static readonly Rgb[] Palette =
    {
        new(200, 30, 30), new(30, 200, 30), new(30, 30, 200), new(220, 220, 40), new(40, 220, 220), new(220, 40, 220), new(120, 120, 120),
    };

    private static Sample PaintedSample(int width = 96, int height = 64, int block = 8)
    {
        var mask = TestData.Blocks(width, height, block, Palette.Length);
        return new Sample(TestData.Paint(mask, Palette), mask, "painted");
    }

    [Fact]
    public void HorizontalFlipFlipsImageAndMaskIdentically()
    {
        using var sample = PaintedSample();
        using var expectedImage = sample.Image.Flip(FlipMode.Horizontal);
        using var expectedMask = sample.Mask!.Flip(FlipMode.Horizontal);
        new HorizontalFlip(1.0).Apply(sample, 1);
        Assert.Equal(TestData.Bytes(expectedImage), TestData.Bytes(sample.Image));
        Assert.Equal(TestData.Bytes(expectedMask), TestData.Bytes(sample.Mask!));

        using var untouched = PaintedSample();
        var before = TestData.Bytes(untouched.Image);
        new HorizontalFlip(0.0).Apply(untouched, 1);
        new VerticalFlip(0.0).Apply(untouched, 1);
        Assert.Equal(before, TestData.Bytes(untouched.Image));
    }

    [Fact]
    public void VerticalFlipFlipsImageAndMaskIdentically()
    {
        using var sample = PaintedSample();
        using var expectedMask = sample.Mask!.Flip(FlipMode.Vertical);
        using var expectedImage = sample.Image.Flip(FlipMode.Vertical);
        new VerticalFlip(1.0).Apply(sample, 1);
        Assert.Equal(TestData.Bytes(expectedMask), TestData.Bytes(sample.Mask!));
        Assert.Equal(TestData.Bytes(expectedImage), TestData.Bytes(sample.Image));
    }

    [Theory]
    [InlineData(PadPosition.Center, 13, 14, 6, 6)]
    [InlineData(PadPosition.TopLeft, 0, 27, 0, 12)]
    [InlineData(PadPosition.BottomRight, 27, 0, 12, 0)]
    public void PadIfNeededFillsTheMaskWithTheIgnoreIndex(PadPosition position, int top, int bottom, int left, int right)
    {
        using var sample = PaintedSample(52, 37, 4);
        new PadIfNeeded(64, 64, BorderMode.Constant, new double[] { 1, 2, 3 }, maskValue: 255, position).Apply(sample, 3);
        Assert.Equal((64, 64), (sample.Width, sample.Height));
        var mask = sample.Mask!;
        var image = sample.Image;
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++)
            {
                bool inside = x >= left && x < 64 - right && y >= top && y < 64 - bottom;
                if (inside)
                {
                    Assert.NotEqual(255, mask[x, y]);
                }
                else
                {
                    Assert.Equal(255, mask[x, y]);
                    Assert.Equal((1, 2, 3), (image[x, y, 0], image[x, y, 1], image[x, y, 2]));
                }
            }

        using var big = PaintedSample(80, 70);
        new PadIfNeeded(64, 64).Apply(big, 3);
        Assert.False(big.HasPendingGeometry);
        Assert.Equal((80, 70), (big.Width, big.Height));
    }

    [Fact]
    public void ReflectPaddingMirrorsTheMaskInsteadOfFillingIt()
    {
        using var sample = PaintedSample(40, 30, 4);
        using var expected = sample.Mask!.Pad(5, 5, 12, 12, BorderMode.Reflect101, 0);
        new PadIfNeeded(40, 64, BorderMode.Reflect101, maskValue: 0).Apply(sample, 0);
        Assert.Equal(TestData.Bytes(expected), TestData.Bytes(sample.Mask!));
    }

    [Fact]
    public void RandomCropWindowLiesInsideThePaddedImage()
    {
        for (int seed = 0; seed < 12; seed++)
        {
            using var sample = new Sample(TestData.Gradient(50, 30), TestData.Blocks(50, 30, 5, 7), "g");
            new PadIfNeeded(48, 48, BorderMode.Constant, new double[] { 0 }).Apply(sample, seed);
            using var paddedImage = sample.Image.Clone();
            using var paddedMask = sample.Mask!.Clone();
            new RandomCrop(40, 40).Apply(sample, seed);
            Assert.Equal((40, 40), (sample.Width, sample.Height));
            var crop = TestData.Bytes(sample.Image);
            var cropMask = TestData.Bytes(sample.Mask!);
            int found = 0;
            for (int y = 0; y + 40 <= paddedImage.Height; y++)
                for (int x = 0; x + 40 <= paddedImage.Width; x++)
                {
                    using var window = paddedImage.Crop(x, y, 40, 40);
                    if (!window.Pixels.SequenceEqual(crop)) continue;
                    using var maskWindow = paddedMask.Crop(x, y, 40, 40);
                    Assert.Equal(maskWindow.Pixels.ToArray(), cropMask);
                    found++;
                }
            Assert.Equal(1, found);
        }
    }

    [Fact]
    public void RandomCropNeedsAnImageAtLeastAsLargeAsTheWindow()
    {
        using var sample = PaintedSample(30, 20);
        var e = Assert.Throws<InvalidOperationException>(() => new RandomCrop(32, 32).Apply(sample, 0));
        Assert.Contains("PadIfNeeded", e.Message);
    }

    [Fact]
    public void RandomCropResamplesWindowsDominatedByOneClass()
    {
        // Class 0 on the left 70 columns, class 1 on the right 30: only windows starting at x in 41..59 qualify.
        var px = new byte[100 * 40];
        for (int y = 0; y < 40; y++)
            for (int x = 70; x < 100; x++) px[y * 100 + x] = 1;
        int Accepted(double ratio)
        {
            int ok = 0;
            for (int seed = 0; seed < 20; seed++)
            {
                using var sample = new Sample(TestData.Gradient(100, 40), Image.FromPixels(px, 100, 40, 1), "c");
                new RandomCrop(40, 40, maxClassRatio: ratio).Apply(sample, seed);
                var counts = sample.Mask!.Histogram(2);
                if (Math.Max(counts[0], counts[1]) < 0.75 * (counts[0] + counts[1])) ok++;
            }
            return ok;
        }
        int plain = Accepted(1.0);
        int resampled = Accepted(0.75);
        Assert.True(resampled >= 18, $"only {resampled} of 20 crops met the ratio");
        Assert.True(plain < resampled, $"{plain} vs {resampled}");
    }

    [Fact]
    public void ImageAndMaskStayAlignedThroughTheWholeGeometricPipeline()
    {
        var pipeline = new Compose(
            new Scale(0.75),
            new RandomScale(0.5, 2.0, probability: 1.0),
            new PadIfNeeded(80, 80, BorderMode.Constant, new double[] { 0, 0, 0 }, 255),
            new RandomCrop(80, 80),
            new HorizontalFlip(0.5),
            new VerticalFlip(0.5));
        for (int seed = 0; seed < 16; seed++)
        {
            using var sample = PaintedSample(96, 64, 12);
            pipeline.Apply(sample, seed);
            var mask = sample.Mask!;
            var image = sample.Image;
            int checkedPixels = 0;
            // OpenCV's nearest rule (floor(dst * scale)) and its linear rule (centres aligned) differ by up to half a
            // source pixel, so a pixel is checked where its label is uniform two pixels around.
            for (int y = 2; y < mask.Height - 2; y++)
                for (int x = 2; x < mask.Width - 2; x++)
                {
                    int m = mask[x, y];
                    bool uniform = true;
                    for (int dy = -2; dy <= 2 && uniform; dy++)
                        for (int dx = -2; dx <= 2 && uniform; dx++)
                            uniform = mask[x + dx, y + dy] == m;
                    if (!uniform) continue;
                    var c = m == 255 ? new Rgb(0, 0, 0) : Palette[m];
                    Assert.True(Math.Abs(image[x, y, 0] - c.R) <= 1 && Math.Abs(image[x, y, 1] - c.G) <= 1 && Math.Abs(image[x, y, 2] - c.B) <= 1,
                        $"seed {seed}: pixel ({x}, {y}) has label {m} but colour ({image[x, y, 0]}, {image[x, y, 1]}, {image[x, y, 2]})");
                    checkedPixels++;
                }
            Assert.True(checkedPixels > 1000, $"seed {seed}: only {checkedPixels} interior pixels");
        }
    }

    [Fact]
    public void SameSeedGivesTheSameSampleAndAnotherSeedAnother()
    {
        var pipeline = new Compose(
            new RandomScale(0.5, 2.0, probability: 1.0),
            new PadIfNeeded(64, 64, BorderMode.Reflect101),
            new RandomCrop(64, 64),
            new ColorJitter(0.5, 0.5, 0.5, 0.2, probability: 1.0),
            new HorizontalFlip(0.5),
            new Normalize(),
            new ToTensor());
        (byte[] image, byte[] mask, float[] tensor) Run(long seed)
        {
            using var s = PaintedSample();
            pipeline.Apply(s, seed);
            return (TestData.Bytes(s.Image), TestData.Bytes(s.Mask!), s.ImageTensor!.ToArray<float>());
        }
        var a = Run(42);
        var b = Run(42);
        var c = Run(43);
        Assert.Equal(a.image, b.image);
        Assert.Equal(a.mask, b.mask);
        Assert.Equal(a.tensor, b.tensor);
        Assert.NotEqual(a.image, c.image);
    }

    [Fact]
    public void RandomScaleDrawsFactorsInItsRangeAndOnItsGrid()
    {
        var sizes = new HashSet<int>();
        for (int seed = 0; seed < 40; seed++)
        {
            using var s = PaintedSample(100, 50);
            new RandomScale(0.5, 2.0, probability: 1.0).Apply(s, seed);
            Assert.InRange(s.Width, 50, 200);
            Assert.Equal((int)(s.Width / 100.0 * 50), s.Height, 1.0);
            using var g = PaintedSample(100, 50);
            new RandomScale(0.7, 2.1, probability: 1.0, step: 0.1, roundSize: true).Apply(g, seed);
            sizes.Add(g.Width);
        }
        Assert.Subset(Enumerable.Range(0, 15).Select(k => (int)Math.Round(100 * (0.7 + k / 10.0))).ToHashSet(), sizes);
        Assert.True(sizes.Count > 8);
        int unchanged = 0;
        for (int seed = 0; seed < 40; seed++)
        {
            using var s = PaintedSample(100, 50);
            new RandomScale(0.5, 2.0, probability: 0.5).Apply(s, seed);
            if (s.Width == 100) unchanged++;
        }
        Assert.InRange(unchanged, 8, 32);
    }

    [Fact]
    public void ColorJitterChangesOnlyTheImage()
    {
        using var s = PaintedSample();
        var mask = TestData.Bytes(s.Mask!);
        var image = TestData.Bytes(s.Image);
        new ColorJitter(0.5, 0.5, 0.5, 0.2, probability: 0.0).Apply(s, 1);
        Assert.Equal(image, TestData.Bytes(s.Image));
        new ColorJitter(0.5, 0.5, 0.5, 0.2, probability: 1.0).Apply(s, 1);
        Assert.NotEqual(image, TestData.Bytes(s.Image));
        Assert.Equal(mask, TestData.Bytes(s.Mask!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ColorJitter(hue: 0.6));
    }

    [Fact]
    public void NormalizeAndToTensorProduceChwFloatAndInt64()
    {
        using var s = PaintedSample(10, 6, 2);
        var pipeline = new Compose(new Normalize(), new ToTensor());
        pipeline.Apply(s, 0);
        Assert.Equal(new long[] { 3, 6, 10 }, s.ImageTensor!.shape);
        Assert.Equal(new long[] { 6, 10 }, s.MaskTensor!.shape);
        Assert.Equal(FastSeg.Torch.torch.ScalarType.Int64, s.MaskTensor.dtype);
        var v = s.ImageTensor.ToArray<float>();
        int label = s.Mask![3, 2];
        Assert.Equal((Palette[label].G / 255.0 - 0.456) / 0.224, v[60 + 2 * 10 + 3], 4);
        Assert.Equal(label, s.MaskTensor.ToArray<long>()[2 * 10 + 3]);
    }

    [Fact]
    public void ResizeAndCenterCropUseFixedSizes()
    {
        using var s = PaintedSample(96, 64);
        new Compose(new Resize(48, 72), new CenterCrop(40, 60)).Apply(s, 0);
        Assert.Equal((60, 40), (s.Width, s.Height));
        Assert.Equal((60, 40), (s.Mask!.Width, s.Mask.Height));
    }

    [Fact]
    public void PresetsAreWrittenOutExplicitly()
    {
        var zh = Pipelines.Zh320Train(1024, 1024);
        Assert.Equal(7, zh.Steps.Count);
        var pad = Assert.IsType<PadIfNeeded>(zh.Steps[2]);
        Assert.Equal(BorderMode.Reflect101, pad.Border);
        var jitter = Assert.IsType<ColorJitter>(zh.Steps[4]);
        Assert.Equal((0.2, 0.5), (jitter.Hue, jitter.Probability));
        var scale = Assert.IsType<RandomScale>(zh.Steps[1]);
        Assert.Equal((0.5, 2.0, 0.5), (scale.Min, scale.Max, scale.Probability));
        var fast = Pipelines.FastSegTrain();
        Assert.Equal(PadPosition.TopLeft, Assert.IsType<PadIfNeeded>(fast.Steps[1]).Position);
    }
}
