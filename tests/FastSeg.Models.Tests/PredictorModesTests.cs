using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using FastSeg.Torch;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests;

/// <summary>Sliding-window, multi-scale and flip prediction, and the predictor's inference form.</summary>
public class PredictorModesTests
{
    private static void AssertClose(Tensor expected, Tensor actual, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        double max = (expected - actual).abs().max().item<float>();
        Assert.True(max <= tolerance, $"max abs difference {max} > {tolerance}");
    }

    private static TinyNet Tiny()
    {
        var net = new TinyNet();
        DeterministicFill.Apply(net);
        return net;
    }

    private static Tensor Pixels(long height, long width, long batch = 1)
    {
        manual_seed(11);
        return randint(0, 256, new long[] { batch, 3, height, width }, ScalarType.Byte);
    }

    [Fact]
    public void NormalisedImagesGiveTheSameLogitsAsPixelsAndTheNetworksOwnStatisticsAreTheDefault()
    {
        using var net = Tiny();
        using var scope = NewDisposeScope();
        var pixels = Pixels(24, 40);
        using var predictor = new SegmentationPredictor(net, new PredictorOptions { Scales = [0.5, 1], Flip = true });
        var fromPixels = predictor.PredictLogits(pixels);
        var fromNormalised = predictor.PredictNormalizedLogits(predictor.Normalize(pixels));
        Assert.True(fromPixels.equal(fromNormalised));
        // Without mean/std the predictor normalises with ImageNet's statistics (what FastSeg.Data's Normalize applies and
        // every zoo entry's InputNormalization holds).
        var imageNet = FastSeg.Data.Normalization.ImageNet;
        using var explicitStats = new SegmentationPredictor(net, new PredictorOptions { Mean = imageNet.Mean, Std = imageNet.Std, MaxPixelValue = 255 });
        Assert.True(explicitStats.Normalize(pixels).equal(predictor.Normalize(pixels)));
        Assert.All(ModelZoo.List(), info => Assert.Same(imageNet, info.InputNormalization));
        var shifted = new SegmentationPredictor(net, new PredictorOptions { Mean = [0.5], Std = [0.25] }).Normalize(pixels);
        AssertClose((pixels.to_type(ScalarType.Float32) / 255 - 0.5) / 0.25, shifted, 1e-5);
    }

    [Fact]
    public void AWindowCoveringTheImageEqualsWholeImagePrediction()
    {
        using var net = Tiny();
        using var scope = NewDisposeScope();
        var pixels = Pixels(24, 40, batch: 2);
        var whole = new SegmentationPredictor(net).PredictLogits(pixels);
        var slid = new SegmentationPredictor(net, new PredictorOptions { Window = (24, 40), Stride = (5, 7) }).PredictLogits(pixels);
        Assert.True(slid.equal(whole));
    }

    [Fact]
    public void OverlappingWindowsAverageTheirLogits()
    {
        using var net = Tiny();
        using var scope = NewDisposeScope();
        var pixels = Pixels(16, 40);
        // Windows 24 wide, 16 apart, over 40 columns: columns 0-23 and 16-39 (the second moved back to end at the edge).
        var slid = new SegmentationPredictor(net, new PredictorOptions { Window = (16, 24), Stride = (16, 16) }).PredictLogits(pixels);
        var whole = new SegmentationPredictor(net);
        var left = whole.PredictLogits(pixels.narrow(3, 0, 24));
        var right = whole.PredictLogits(pixels.narrow(3, 16, 24));
        var expected = zeros(1, 5, 16, 40);
        expected.narrow(3, 0, 16).copy_(left.narrow(3, 0, 16));
        expected.narrow(3, 16, 8).copy_((left.narrow(3, 16, 8) + right.narrow(3, 0, 8)) / 2);
        expected.narrow(3, 24, 16).copy_(right.narrow(3, 8, 16));
        AssertClose(expected, slid, 1e-6);
    }

    [Fact]
    public void MultiScaleWithFlipIsTheMeanOfTheLogitsAtEachScale()
    {
        using var net = Tiny();
        net.eval();
        using var scope = NewDisposeScope();
        var pixels = Pixels(32, 48);
        var predictor = new SegmentationPredictor(net, new PredictorOptions { Scales = new[] { 0.5, 1.0, 1.5 }, Flip = true });
        var actual = predictor.PredictLogits(pixels);

        var x = predictor.Normalize(pixels);
        Tensor Resize(Tensor t, long h, long w) =>
            nn.functional.interpolate(t, new[] { h, w }, mode: nn.InterpolationMode.Bilinear, align_corners: false);
        var sum = zeros(1, 5, 32, 48);
        using (no_grad())
        {
            foreach (var (h, w) in new (long, long)[] { (16, 24), (32, 48), (48, 72) })
            {
                var plain = net.call(h == 32 ? x : Resize(x, h, w));
                var flipped = net.call(h == 32 ? x.flip(3) : Resize(x.flip(3), h, w));
                sum = sum + (h == 32 ? plain : Resize(plain, 32, 48));
                sum = sum + (h == 32 ? flipped : Resize(flipped, 32, 48)).flip(3);
            }
        }
        AssertClose(sum / 6, actual, 1e-5);
    }

    [Fact]
    public void AWindowLargerThanTheImageOrANonPositiveStrideIsOneClearError()
    {
        using var net = Tiny();
        using var scope = NewDisposeScope();
        var predictor = new SegmentationPredictor(net, new PredictorOptions { Window = (32, 32) });
        var e = Assert.Throws<ArgumentException>(() => predictor.PredictLogits(Pixels(24, 40)));
        Assert.Contains("sliding window 32x32 (WxH) is larger than the image it slides over, 40x24", e.Message);
        // at scale 0.5 the image is 12x20: too small for a 16x16 window even though 24x40 is not
        var half = new SegmentationPredictor(net, new PredictorOptions { Window = (16, 16), Scales = new[] { 1.0, 0.5 } });
        Assert.Throws<ArgumentException>(() => half.PredictLogits(Pixels(24, 40)));
        foreach (var stride in new[] { (0, 8), (8, -1) })
        {
            var s = Assert.Throws<ArgumentException>(() => new SegmentationPredictor(net, new PredictorOptions { Window = (16, 16), Stride = stride }));
            Assert.Contains("stride must be positive", s.Message);
        }
        Assert.Throws<ArgumentException>(() => new SegmentationPredictor(net, new PredictorOptions { Stride = (8, 8) }));
        Assert.Throws<ArgumentException>(() => new SegmentationPredictor(net, new PredictorOptions { Scales = new[] { 1.0, 0.0 } }));
    }

    [Fact]
    public void APrecisionRunsTheInferenceFormAndLeavesTheModelAlone()
    {
        using var model = ModelZoo.Create("fastscnn");
        DeterministicFill.Apply(model);
        using var scope = NewDisposeScope();
        var pixels = Pixels(70, 100);
        var eager = new SegmentationPredictor(model).PredictLogits(pixels);
        using var predictor = new SegmentationPredictor(model, new PredictorOptions { Precision = InferencePrecision.Fp32 });
        Assert.IsType<InferenceModel>(predictor.Network);
        Assert.Same(model, predictor.Model);
        var logits = predictor.PredictLogits(pixels);
        double largest = eager.abs().max().item<float>();
        AssertClose(eager, logits, 1e-4 * largest);
        Assert.True(model.training); // the predictor restores the mode it found
    }
}
