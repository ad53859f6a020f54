using FastSeg.Torch;
using FastSeg.Torch.Tests;
using FastSeg.Training.Losses;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Training.Tests;

public class LossTests(ITestOutputHelper output) : ParityTest(output)
{
    private static double[] Doubles(System.Text.Json.JsonElement c, string key) =>
        c.GetProperty(key).EnumerateArray().Select(x => x.GetDouble()).ToArray();

    [Fact]
    public void CrossEntropyFloat64MatchesPyTorch()
    {
        using var scope = NewDisposeScope();
        var c = Case("ce_f64");
        var logits = c.Tensor("logits");
        var target = c.Tensor("target");
        var weights = Doubles(c, "weights");
        using var mean = new CrossEntropyLoss(weights);
        using var sum = new CrossEntropyLoss(weights, reduction: Reduction.Sum);
        using var none = new CrossEntropyLoss(weights, reduction: Reduction.None);
        using var plain = new CrossEntropyLoss();
        Near(c.Tensor("weighted_mean"), mean.Compute(logits, target), Tol64, "CE f64 weighted mean");
        Near(c.Tensor("weighted_sum"), sum.Compute(logits, target), Tol64, "CE f64 weighted sum");
        Near(c.Tensor("weighted_none"), none.Compute(logits, target), Tol64, "CE f64 weighted none");
        Near(c.Tensor("mean"), plain.Compute(logits, target), Tol64, "CE f64 mean");
    }

    [Fact]
    public void CrossEntropyFloat32MatchesPyTorch()
    {
        using var scope = NewDisposeScope();
        var c = Case("ce_f32");
        var logits = c.Tensor("logits");
        var target = c.Tensor("target");
        using var weighted = new CrossEntropyLoss(Doubles(c, "weights"));
        using var plain = new CrossEntropyLoss();
        Near(c.Tensor("weighted_mean"), weighted.Compute(logits, target), Tol32, "CE f32 weighted mean");
        Near(c.Tensor("mean"), plain.Compute(logits, target), Tol32, "CE f32 mean");
        Assert.Throws<ArgumentException>(() => new CrossEntropyLoss(new[] { 1.0, 2.0 }).Compute(logits, target));
    }

    [Theory]
    [InlineData("ohem_hard_f32", Tol32)]
    [InlineData("ohem_hard_f64", Tol64)]
    [InlineData("ohem_topk_f32", Tol32)]
    public void OhemMatchesReferenceInBothBranches(string name, double tol)
    {
        using var scope = NewDisposeScope();
        var c = Case(name);
        var logits = c.Tensor("logits").requires_grad_();
        var target = c.Tensor("target");
        var ohem = new OhemCrossEntropyLoss();
        Assert.Equal(c.GetProperty("threshold").GetDouble(), ohem.Threshold);
        var result = ohem.ComputeWithStats(logits, target);
        Assert.Equal(c.GetProperty("kept").GetInt64(), result.Kept);
        Assert.Equal(c.GetProperty("top_k").GetBoolean(), result.UsedTopK);
        Near(c.Tensor("loss"), result.Loss, tol, $"{name} loss");
        result.Loss.backward();
        Near(c.Tensor("grad"), logits.grad!, tol, $"{name} gradient");
    }

    [Fact]
    public void OhemWithEveryPixelIgnoredIsAnAttachedZero()
    {
        using var scope = NewDisposeScope();
        var logits = randn(1, 3, 4, 4).requires_grad_();
        var target = full(new long[] { 1, 4, 4 }, 255, ScalarType.Int64);
        var loss = new OhemCrossEntropyLoss().Compute(logits, target);
        Assert.Equal(0.0, loss.item<float>());
        loss.backward();
        Assert.Equal(0.0, logits.grad!.abs().sum().item<float>());
    }

    [Fact]
    public void AuxiliaryLossesMatchReference()
    {
        using var scope = NewDisposeScope();
        var c = Case("aux");
        var mask = c.Tensor("mask");
        var logits = c.Tensor("logits");
        var aux = new[] { c.Tensor("aux0"), c.Tensor("aux1") };
        var coef = Doubles(c, "coef");

        TensorAssert.Equal(c.Tensor("mask8"), AuxiliaryLoss.ResizeMask(mask, 8, 8), "mask at 8x8");
        TensorAssert.Equal(c.Tensor("mask4"), AuxiliaryLoss.ResizeMask(mask, 4, 4), "mask at 4x4");

        var ce = new CrossEntropyLoss();
        Near(c.Tensor("ce_nearest"), new AuxiliaryLoss(ce, coef).Total(logits, aux, mask), Tol32, "aux CE, nearest masks");
        Near(c.Tensor("ce_nearest_unit"), new AuxiliaryLoss(ce).Total(logits, aux, mask), Tol32, "aux CE, unit coefficients");
        Near(c.Tensor("ohem_nearest"), new AuxiliaryLoss(new OhemCrossEntropyLoss(), coef).Total(logits, aux, mask), Tol32, "aux OHEM, nearest masks");
        Near(c.Tensor("ce_bilinear"), new AuxiliaryLoss(ce, coef, AuxiliaryResize.BilinearLogits).Total(logits, aux, mask), Tol32,
            "aux CE, bilinear logits");

        // the auxiliary part alone is the total minus the main loss
        var auxOnly = new AuxiliaryLoss(ce, coef).Compute(aux, mask);
        Near(c.Tensor("ce_nearest").sub(ce.Compute(logits, mask)), auxOnly, Tol32, "aux part alone");

        Assert.Throws<ArgumentException>(() => new AuxiliaryLoss(ce, new[] { 1.0 }).Total(logits, aux, mask));
        Assert.Throws<ArgumentException>(() => new AuxiliaryLoss(ce, new[] { 1.0, 1.0, 1.0 }).Compute(aux, mask));
    }

    [Fact]
    public void DetailTargetsMatchReference()
    {
        using var scope = NewDisposeScope();
        var c = Case("detail");
        var mask = c.Tensor("mask");
        Near(c.Tensor("laplacian"), DetailTargetGenerator.Laplacian(mask), 0, "Laplacian maps (exact)");
        TensorAssert.Equal(c.Tensor("target_fixed"), new DetailTargetGenerator().Generate(mask), "targets, fixed fusion");

        // the reference's way: the network's 1x1 detail_conv as the fusion
        var weight = c.Tensor("conv_weight");
        var reference = new DetailTargetGenerator(x => functional.conv2d(x, weight));
        TensorAssert.Equal(c.Tensor("target_conv"), reference.Generate(mask), "targets, detail_conv fusion");
        TensorAssert.Equal(c.Tensor("target_conv"), reference.Generate(mask.unsqueeze(1)), "targets from (N, 1, H, W)");
    }

    [Fact]
    public void DetailLossMatchesReference()
    {
        using var scope = NewDisposeScope();
        var c = Case("detail");
        var mask = c.Tensor("mask");
        var logits = c.Tensor("logits");
        Near(c.Tensor("loss_sigmoid"), new DetailLoss().FromMask(logits, mask), Tol32, "detail loss (Dice on probabilities)");
        Near(c.Tensor("loss_sigmoid_coef"), new DetailLoss(0.5, 2.0).Compute(logits, c.Tensor("target_fixed")), Tol32,
            "detail loss, coefficients 0.5 / 2");
        var weight = c.Tensor("conv_weight");
        var asReference = new DetailLoss(diceOnProbabilities: false, targets: new DetailTargetGenerator(x => functional.conv2d(x, weight)));
        Near(c.Tensor("loss_reference"), asReference.FromMask(logits, mask), Tol32, "detail loss as the reference (Dice on logits)");
    }

    [Fact]
    public void DetailLossGradientReachesTheLogitsOnly()
    {
        using var scope = NewDisposeScope();
        var c = Case("detail");
        var logits = c.Tensor("logits").requires_grad_();
        var loss = new DetailLoss().FromMask(logits, c.Tensor("mask"));
        loss.backward();
        Assert.NotNull(logits.grad);
        Assert.True(logits.grad!.abs().sum().item<float>() > 0);
    }
}

public class AutocastLossTests
{
    [Fact]
    public void LossesAcceptLogitsMadeUnderBFloat16Autocast()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var conv = nn.Conv2d(3, 4, 1);
        var images = randn(2, 3, 8, 8);
        var target = randint(0, 4, new long[] { 2, 8, 8 });
        using (autocast(DeviceType.CPU))
        {
            var logits = conv.call(images);
            Assert.Equal(ScalarType.BFloat16, logits.dtype);
            using var ce = new CrossEntropyLoss(new[] { 1.0, 2.0, 0.5, 1.0 });
            var weighted = ce.Compute(logits, target);
            Assert.Equal(ScalarType.Float32, weighted.dtype);
            Assert.True(float.IsFinite(new OhemCrossEntropyLoss().Compute(logits, target).item<float>()));
            var detail = new DetailLoss().FromMask(logits.narrow(1, 0, 1), target);
            Assert.Equal(ScalarType.Float32, detail.dtype);
        }
    }
}
