using FastSeg.Data;
using FastSeg.Models.Inference;
using FastSeg.Torch.Tests;
using FastSeg.Training.Metrics;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Tests;

/// <summary>
/// bfloat16 accuracy on trained weights: the bf16 inference form of a Fast-SCNN trained on the synthetic street scenes
/// segments held-out scenes as well as the fp32 inference form (mIoU within 0.3 points) and labels at least 99 % of
/// the pixels the same.
/// </summary>
/// <remarks>
/// The weights (Fixtures/trained/fastscnn_synthetic.pth, a bare state dict) were trained once by
/// <c>tools/make_trained_fastscnn_fixture.sh</c> (<c>fastseg train</c>, 320 steps on 32 scenes of seed 3); the
/// held-out scenes are 16 others (seed 11), prepared as the trainer's validation prepares its images. Everything is
/// deterministic: fixed weights, generated images, no timing.
/// </remarks>
public class InferencePrecisionAccuracyTests(ITestOutputHelper output)
{
    private const int HeldOutScenes = 16;

    [Fact]
    public void BFloat16InferenceFormKeepsTheMIoUOfFp32OnHeldOutScenes()
    {
        string root = Path.Combine(Path.GetTempPath(), "fastseg-bf16-accuracy-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            SyntheticCityscapes.Generate(root, new SyntheticCityscapesOptions { Width = 256, Height = 128, TrainCount = 0, ValCount = HeldOutScenes, Seed = 11 });
            using var checkpoint = ModelCheckpoint.Read(Fixture.PathOf("trained/fastscnn_synthetic.pth"));
            using var model = checkpoint.CreateModel("fastscnn", numClasses: 19);
            using var fp32 = model.ForInference(new InferenceOptions { Precision = InferencePrecision.Fp32 });
            using var bf16 = model.ForInference(new InferenceOptions { Precision = InferencePrecision.BFloat16 });
            Assert.Equal(ScalarType.BFloat16, bf16.DType);

            var heldOut = new CityscapesDataset(root, "val") { Transform = Pipelines.Zh320Val() };
            var loader = new DataLoader(heldOut, batchSize: 4);
            using var fp32Matrix = new ConfusionMatrix(19);
            using var bf16Matrix = new ConfusionMatrix(19);
            long agreeing = 0, pixels = 0;
            foreach (var batch in loader.GetBatches())
            {
                using var b = batch;
                using var scope = NewDisposeScope();
                var masks = batch.Masks!.to(ScalarType.Int64);
                var images = batch.Images.to(ScalarType.Float32);
                var fp32Logits = fp32.call(images);
                var bf16Logits = bf16.call(images);
                Assert.Equal(ScalarType.Float32, bf16Logits.dtype);
                fp32Matrix.Update(fp32Logits, masks);
                bf16Matrix.Update(bf16Logits, masks);
                agreeing += fp32Logits.argmax(1).eq(bf16Logits.argmax(1)).sum().item<long>();
                pixels += masks.numel();
            }
            var fp32Report = fp32Matrix.Report();
            var bf16Report = bf16Matrix.Report();
            double agreement = (double)agreeing / pixels;
            output.WriteLine($"{HeldOutScenes} held-out scenes, {pixels} pixels: mIoU over present classes fp32 {100 * fp32Report.MeanIoUPresent:F3}, " +
                             $"bf16 {100 * bf16Report.MeanIoUPresent:F3}; over all 19 fp32 {100 * fp32Report.MeanIoU:F3}, bf16 {100 * bf16Report.MeanIoU:F3}; " +
                             $"argmax agreement {100 * agreement:F3} %");

            Assert.Equal(HeldOutScenes * 256 * 128, pixels);
            // the weights are trained: far above chance (about 0.1 over the 10 classes present in the scenes)
            Assert.True(fp32Report.MeanIoUPresent >= 0.5, $"fp32 mIoU over present classes {fp32Report.MeanIoUPresent:F4}: the fixture is not a trained network");
            Assert.True(Math.Abs(bf16Report.MeanIoUPresent - fp32Report.MeanIoUPresent) <= 0.003,
                $"bf16 mIoU {bf16Report.MeanIoUPresent:F5} vs fp32 {fp32Report.MeanIoUPresent:F5}: more than 0.3 points apart");
            Assert.True(Math.Abs(bf16Report.MeanIoU - fp32Report.MeanIoU) <= 0.003,
                $"bf16 mIoU over 19 classes {bf16Report.MeanIoU:F5} vs fp32 {fp32Report.MeanIoU:F5}: more than 0.3 points apart");
            Assert.True(agreement >= 0.99, $"bf16 and fp32 agree on {agreement:P3} of the pixels, fewer than 99 %");
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }
}
