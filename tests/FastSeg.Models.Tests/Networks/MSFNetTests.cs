using FastSeg.Models.Networks;
using FastSeg.Models.Zoo;
using FastSeg.Torch.Profiling;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests.Networks;

/// <summary>
/// MSFNet has no reference code, hence no fixture: besides the shared checks, these pin what the paper states (output
/// stride 8, Class Boundary Supervision as two independent upsampled heads, its published Cityscapes figures) and our
/// own parameter and multiply-add counts, which stand in for the paper's (not available when it was built).
/// </summary>
public class MSFNetTests : ModelTestBase
{
    protected override string ModelName => "msfnet";

    /// <summary>"The final upsampling of the feature maps of 1/8 original image size": both heads read a 1/8 map.</summary>
    [Fact]
    public void TheHeadsReadAOneEighthMap()
    {
        using var model = (MSFNet)ModelZoo.Create("msfnet");
        model.eval();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var fused = model.FusedFeatures(zeros(1, 3, 64, 96));
        Assert.Equal(8, MSFNet.OutputStride);
        Assert.Equal(new[] { 1L, MSFNet.FusionChannels, 64 / 8, 96 / 8 }, fused.shape);
    }

    /// <summary>
    /// Class Boundary Supervision: a second, independent head on the same fused map, upsampled to the input like the
    /// segmentation head, returned only in training with aux enabled (per class, or one channel with boundary=binary).
    /// </summary>
    [Theory]
    [InlineData("class", 19)]
    [InlineData("binary", 1)]
    public void ClassBoundarySupervisionIsATrainingOnlyHeadAtInputResolution(string boundary, long channels)
    {
        var options = new Dictionary<string, string> { ["boundary"] = boundary };
        using var model = ModelZoo.Create("msfnet", aux: true, options: options);
        using var plain = ModelZoo.Create("msfnet");
        long headParameters = MSFNet.FusionChannels * MSFNet.HeadChannels * 9 + 2 * MSFNet.HeadChannels + MSFNet.HeadChannels * channels + channels;
        Assert.Equal(plain.parameters().Sum(p => p.numel()) + headParameters, model.parameters().Sum(p => p.numel()));
        Assert.Contains(model.named_parameters(), p => p.name.StartsWith("boundary_head.", StringComparison.Ordinal));
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 64, 96);
        using (no_grad())
        {
            model.train();
            using var train = model.ForwardAll(x);
            var aux = Assert.Single(train.Aux);
            Assert.Equal(new[] { 2L, channels, 64, 96 }, aux.shape);
            Assert.Equal(new[] { 2L, 19, 64, 96 }, train.Logits.shape);
            model.eval();
            using var eval = model.ForwardAll(x);
            Assert.Empty(eval.Aux);
        }
    }

    /// <summary>The registered figures are the paper's Cityscapes test result (77.1 % mIoU, 41 FPS at 1024×2048) and our own parameter count.</summary>
    [Fact]
    public void RegistrationCarriesThePaperFiguresAndOurCount()
    {
        var info = ModelZoo.Describe("msfnet");
        Assert.Equal("fast_seg", info.Source);
        Assert.True(info.SupportsAux);
        Assert.Equal(77.1, info.ReferenceMIoU);
        Assert.Equal(41, info.ReferenceFps);
        Assert.Equal(11_176_512 + 576_083, info.ReferenceParameters); // ResNet-18 without its classifier + our decoder and head
    }

    /// <summary>
    /// Our multiply-add count at the paper's input size, 1024×2048 (MACs of convolutions, as real-time papers count
    /// "FLOPs"). Every conv output is exactly (H/s)·(W/s) for sides divisible by 32, so the count at 64×128 times 256 is
    /// the count at 1024×2048 without running that size.
    /// </summary>
    [Fact]
    public void MultiplyAddsAtThePaperInputSize()
    {
        using var model = ModelZoo.Create("msfnet");
        model.eval();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        using var counter = new MacCounter();
        model.call(zeros(1, 3, 64, 128));
        long atPaperSize = counter.MultiplyAdds * 256;
        Assert.Equal(85_821_751_296L, atPaperSize); // 85.8 G (21.5 G at 512×1024); documented on MSFNet
    }
}
