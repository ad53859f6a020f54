using System.Text.Json;
using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Models.Networks;
using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests.Networks;

/// <summary>What the nine segmentation_models.pytorch networks share: their encoder, their naming, their sizes.</summary>
public class SmpTests
{
    /// <summary>
    /// With a ResNet-18 encoder and 19 classes: SMP's exact count (its own code, built with the fixture prelude) and
    /// zh320's published figure (README, "SMP Performances on Cityscapes", millions with two decimals).
    /// </summary>
    [Theory]
    [InlineData("deeplabv3", 15_903_571, 15.90)]
    [InlineData("deeplabv3p", 12_333_923, 12.33)]
    [InlineData("fpn", 13_049_555, 13.05)]
    [InlineData("linknet", 11_664_371, 11.66)]
    [InlineData("manet", 21_678_083, 21.68)]
    [InlineData("pan", 11_372_858, 11.37)]
    [InlineData("pspnet", 11_412_787, 11.41)]
    [InlineData("unet", 14_330_819, 14.33)]
    [InlineData("unetpp", 15_973_059, 15.97)]
    public void ResNet18CountsEqualSmpAndZh320sTable(string decoder, long exact, double publishedMillions)
    {
        using var model = SmpZoo.Create("resnet18", decoder, 19);
        long count = model.parameters().Sum(p => p.numel());
        Assert.Equal(exact, count);
        Assert.Equal(publishedMillions, Math.Round(count / 1e6, 2));
    }

    [Fact]
    public void Zh320sDecoderNamesAreZooNetworksFromSmp()
    {
        foreach (var decoder in SmpZoo.Decoders)
        {
            var info = ModelZoo.Describe(SmpZoo.ModelName(decoder));
            Assert.Equal("smp", info.Source);
            Assert.Equal("resnet34", info.DefaultEncoder);
            Assert.Equal(SmpResNetEncoder.Names, info.Encoders);
        }
        Assert.Equal("smp/deeplabv3p", SmpZoo.ModelName("DeepLabV3p"));
        var decoderError = Assert.Throws<ArgumentException>(() => SmpZoo.Create("resnet18", "segformer"));
        Assert.Contains("deeplabv3, deeplabv3p, fpn", decoderError.Message);
        var encoderError = Assert.Throws<ArgumentException>(() => SmpZoo.Create("efficientnet-b0", "unet"));
        Assert.Contains("resnet18, resnet34", encoderError.Message);
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("resnet50")]
    public void TorchvisionCheckpointsLoadIntoTheEncoderOfEveryNetworkByKey(string variant)
    {
        using var scope = NewDisposeScope();
        var root = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "encoders.json"))).RootElement;
        var layout = root.GetProperty(variant);
        var keys = layout.GetProperty("keys").EnumerateArray().Select(k => k.GetString()!).ToList();
        var shapes = layout.GetProperty("shapes").EnumerateArray().Select(s => s.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToList();
        var torchvision = new Dictionary<string, Tensor>();
        for (int k = 0; k < keys.Count; k++)
            torchvision[keys[k]] = keys[k].EndsWith("num_batches_tracked", StringComparison.Ordinal)
                ? full(shapes[k], 3L, ScalarType.Int64)
                : full(shapes[k], 0.001 * (k + 1));
        // PSPNet (depth 3) and the dilated encoders of DeepLabV3, DeepLabV3+ and PAN keep every torchvision entry.
        foreach (var (depth, stride) in new[] { (5, 32), (5, 16), (5, 8), (3, 32) })
        {
            using var encoder = new SmpResNetEncoder(variant, depth, stride);
            encoder.load_state_dict(ResNet.FromTorchvision(torchvision)); // strict
        }
        using var model = (SmpSegmentationModel)SmpZoo.Create(variant, "unet");
        model.Encoder.load_state_dict(ResNet.FromTorchvision(torchvision));
        Assert.Equal(0.001f, model.Encoder.conv1.weight.flatten()[0].item<float>(), 6);
        Assert.Equal(model.state_dict().Keys.Where(k => k.StartsWith("encoder.", StringComparison.Ordinal)),
            keys.Where(k => !k.StartsWith("fc.", StringComparison.Ordinal)).Select(k => "encoder." + k));
    }

    [Theory]
    [InlineData("resnet18", 5, 32, new[] { 3, 64, 64, 128, 256, 512 }, new[] { 1, 2, 4, 8, 16, 32 })]
    [InlineData("resnet50", 5, 16, new[] { 3, 64, 256, 512, 1024, 2048 }, new[] { 1, 2, 4, 8, 16, 16 })]
    [InlineData("resnet18", 5, 8, new[] { 3, 64, 64, 128, 256, 512 }, new[] { 1, 2, 4, 8, 8, 8 })]
    [InlineData("resnet34", 3, 32, new[] { 3, 64, 64, 128 }, new[] { 1, 2, 4, 8 })]
    public void EncoderReturnsTheInputThenEveryStage(string variant, int depth, int outputStride, int[] channels, int[] strides)
    {
        using var encoder = new SmpResNetEncoder(variant, depth, outputStride);
        encoder.eval();
        Assert.Equal(channels, encoder.OutChannels);
        Assert.Equal(strides[^1], encoder.OutputStride);
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var x = randn(1, 3, 64, 96);
        var features = encoder.Features(x);
        Assert.Equal(depth + 1, features.Length);
        Assert.True(features[0].equal(x));
        for (int k = 0; k < features.Length; k++)
            Assert.Equal(new long[] { 1, channels[k], 64 / strides[k], 96 / strides[k] }, features[k].shape);
        Assert.Equal(channels.Skip(1), encoder.Channels);
        Assert.Equal(strides.Skip(1), encoder.Strides);
    }
}
