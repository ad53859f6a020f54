using FastSeg.Torch;
using FastSeg.Torch.Tests;
using FastSeg.Training.Metrics;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Tests;

public class MetricsTests(ITestOutputHelper output) : ParityTest(output)
{
    private static List<(Tensor logits, Tensor target)> Batches(System.Text.Json.JsonElement c) =>
        c.GetProperty("batches").EnumerateArray().Select(b => (b.Tensor("logits"), b.Tensor("target"))).ToList();

    [Fact]
    public void ConfusionMatrixAndIoUMatchTorchmetricsRecipe()
    {
        using var scope = NewDisposeScope();
        var c = Case("metrics");
        int classes = c.GetProperty("num_classes").GetInt32();
        using var cm = new ConfusionMatrix(classes);
        foreach (var (logits, target) in Batches(c)) cm.Update(logits, target);

        TensorAssert.Equal(c.Tensor("confusion"), cm.Matrix, "confusion matrix");
        Near(c.Tensor("iou"), tensor(cm.IoU()), Tol64, "per-class IoU");
        Near(c.GetProperty("miou").GetDouble(), cm.MeanIoU(), Tol64, "mIoU");
        Near(c.GetProperty("pixel_accuracy").GetDouble(), cm.PixelAccuracy(), Tol64, "pixel accuracy");
        Near(c.Tensor("class_accuracy"), tensor(cm.ClassAccuracy()), Tol64, "class accuracy");

        var iou = cm.IoU();
        Assert.Equal(0.0, iou[3]); // predicted but never labelled: union > 0, no true positives
        Assert.Equal(0.0, iou[4]); // neither labelled nor predicted: empty union counts as 0

        var report = cm.Report(new[] { "a", "b", "c", "d", "e" });
        Assert.Equal(cm.MeanIoU(), report.MeanIoU, 12);
        Assert.Contains("pixel accuracy", report.ToString());
        Assert.Contains("mean", report.ToString());
        Log(report.ToString());
    }

    [Fact]
    public void ClassIndicesAreAcceptedAsPredictions()
    {
        using var scope = NewDisposeScope();
        var c = Case("metrics");
        using var fromLogits = new ConfusionMatrix(5);
        using var fromIndices = new ConfusionMatrix(5);
        foreach (var (logits, target) in Batches(c))
        {
            fromLogits.Update(logits, target);
            fromIndices.Update(logits.argmax(1), target);
        }
        TensorAssert.Equal(fromLogits.Matrix, fromIndices.Matrix);
    }

    [Fact]
    public void MergedMatricesEqualTheMatrixOfTheConcatenatedData()
    {
        using var scope = NewDisposeScope();
        var batches = Batches(Case("metrics"));
        using var rank0 = new ConfusionMatrix(5);
        using var rank1 = new ConfusionMatrix(5);
        rank0.Update(batches[0].logits, batches[0].target);
        rank1.Update(batches[1].logits, batches[1].target);
        rank1.Update(batches[2].logits, batches[2].target);
        rank0.Merge(rank1);

        using var whole = new ConfusionMatrix(5);
        whole.Update(cat(batches.Select(b => b.logits).ToList(), 0), cat(batches.Select(b => b.target).ToList(), 0));
        TensorAssert.Equal(whole.Matrix, rank0.Matrix, "merged vs concatenated");
        Assert.Equal(whole.MeanIoU(), rank0.MeanIoU());

        // the raw-tensor path the trainer's all-reduce uses
        using var viaAdd = new ConfusionMatrix(5);
        viaAdd.Add(rank0.Matrix);
        TensorAssert.Equal(whole.Matrix, viaAdd.Matrix, "added matrix");
        viaAdd.Reset();
        Assert.Equal(0, viaAdd.Total);
    }

    [Fact]
    public void IgnoredPixelsAndBadLabels()
    {
        using var scope = NewDisposeScope();
        using var cm = new ConfusionMatrix(3);
        var logits = randn(1, 3, 2, 2);
        cm.Update(logits, full(new long[] { 1, 2, 2 }, 255, ScalarType.Int64));
        Assert.Equal(0, cm.Total);
        Assert.Equal(0.0, cm.MeanIoU());
        Assert.Equal(0.0, cm.PixelAccuracy());

        var bad = tensor(new long[] { 0, 1, 2, 3 }, new long[] { 1, 2, 2 });
        Assert.Throws<ArgumentException>(() => cm.Update(logits, bad));
        Assert.Throws<ArgumentException>(() => cm.Update(randn(1, 4, 2, 2), tensor(new long[] { 0, 1, 2, 0 }, new long[] { 1, 2, 2 })));
        Assert.Throws<ArgumentException>(() => cm.Report(new[] { "only one" }));
    }

    [Fact]
    public void PerfectPredictionScoresOne()
    {
        using var scope = NewDisposeScope();
        using var cm = new ConfusionMatrix(3);
        var target = tensor(new long[] { 0, 1, 2, 255, 1, 0 }, new long[] { 1, 2, 3 });
        cm.Update(target.clamp(max: 2), target);
        Assert.Equal(new[] { 1.0, 1.0, 1.0 }, cm.IoU());
        Assert.Equal(1.0, cm.PixelAccuracy());
        Assert.Equal(5, cm.Total);
        Assert.Equal(19, ClassNames.Cityscapes.Count);
    }

    [Fact]
    public void MeanIoUOverPresentClassesLeavesOutClassesWithoutLabels()
    {
        using var scope = NewDisposeScope();
        using var cm = new ConfusionMatrix(4);
        // labels use classes 0 and 1 only; class 2 is predicted once (IoU 0, but present in no label), class 3 never
        var target = tensor(new long[] { 0, 0, 1, 1 }, new long[] { 1, 1, 4 });
        var prediction = tensor(new long[] { 0, 2, 1, 1 }, new long[] { 1, 1, 4 });
        cm.Update(prediction, target);
        var report = cm.Report();
        Assert.Equal(new long[] { 2, 2, 0, 0 }, report.Support);
        Assert.Equal((0.5 + 1.0) / 4, report.MeanIoU, 12);
        Assert.Equal((0.5 + 1.0) / 2, report.MeanIoUPresent, 12);
        Assert.Contains("mean (present classes)", report.ToString());
    }
}

public class TrainingProgressUnitTests
{
    [Fact]
    public void ProgressMeanIoUIsInPercentAsTheReportPrintsIt()
    {
        using var scope = NewDisposeScope();
        using var cm = new ConfusionMatrix(2);
        // class 0: 1 of 2 predicted right (IoU 1/2); class 1: both right but one extra (IoU 2/3)
        cm.Update(tensor(new long[] { 0, 1, 1, 1 }, new long[] { 1, 1, 4 }), tensor(new long[] { 0, 0, 1, 1 }, new long[] { 1, 1, 4 }));
        var report = cm.Report();
        var validation = new TrainingProgress(ProgressKind.Validation, 0, 10, 10, double.NaN, 0.01, 0, TimeSpan.Zero,
            new Dictionary<string, double>(), report);
        double percent = 100 * (0.5 + 2.0 / 3) / 2;
        Assert.Equal(percent, validation.MeanIoUPercent, 12);
        Assert.Equal(percent / 100, report.MeanIoU, 12);
        Assert.Contains(percent.ToString("F2", System.Globalization.CultureInfo.InvariantCulture), report.ToString());
        var iteration = validation with { Kind = ProgressKind.Iteration, Report = null };
        Assert.True(double.IsNaN(iteration.MeanIoUPercent));
    }
}
