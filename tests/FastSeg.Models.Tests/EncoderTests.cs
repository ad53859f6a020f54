using System.Text.Json;
using FastSeg.Models.Encoders;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests;

/// <summary>
/// Encoders follow one contract, and torchvision's ImageNet checkpoints map onto them key by key: every tensor of
/// the checkpoint (layout from Fixtures/encoders.json, made by tools/make_encoder_fixtures.py) lands on an encoder
/// entry of the same shape, except the classifier, and every encoder entry is filled.
/// </summary>
public class EncoderTests
{
    private static Dictionary<string, Tensor> TorchvisionLikeStateDict(string name)
    {
        var root = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "encoders.json"))).RootElement;
        var e = root.GetProperty(name);
        var keys = e.GetProperty("keys").EnumerateArray().Select(k => k.GetString()!).ToList();
        var shapes = e.GetProperty("shapes").EnumerateArray().Select(s => s.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToList();
        var result = new Dictionary<string, Tensor>();
        for (int k = 0; k < keys.Count; k++)
            result[keys[k]] = keys[k].EndsWith("num_batches_tracked", StringComparison.Ordinal)
                ? full(shapes[k], 7L, ScalarType.Int64)
                : full(shapes[k], 0.001 * (k + 1));
        return result;
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("resnet34")]
    [InlineData("resnet50")]
    [InlineData("resnet101")]
    public void TorchvisionResNetCheckpointsLoadByKey(string variant)
    {
        using var scope = NewDisposeScope();
        var torchvision = TorchvisionLikeStateDict(variant);
        using var encoder = new ResNet(variant);
        var mapped = ResNet.FromTorchvision(torchvision);
        Assert.DoesNotContain(mapped.Keys, k => k.StartsWith("fc.", StringComparison.Ordinal));
        encoder.load_state_dict(mapped); // strict: every key present, shapes equal
        Assert.Equal(0.001f, encoder.conv1.weight.flatten()[0].item<float>(), 6);
    }

    [Fact]
    public void TorchvisionMobileNetV2CheckpointsLoadByKeyKeepingTheSliceIndices()
    {
        using var scope = NewDisposeScope();
        var torchvision = TorchvisionLikeStateDict("mobilenet_v2");
        using var encoder = new MobileNetV2();
        var mapped = MobileNetV2.FromTorchvision(torchvision);
        Assert.Contains("layer2.4.conv.0.0.weight", mapped.Keys);
        Assert.Equal(torchvision["features.4.conv.0.0.weight"].shape, mapped["layer2.4.conv.0.0.weight"].shape);
        Assert.DoesNotContain(mapped.Keys, k => k.StartsWith("layer4.18", StringComparison.Ordinal));
        encoder.load_state_dict(mapped);
    }

    [Theory]
    [InlineData("resnet18", new[] { 64, 128, 256, 512 })]
    [InlineData("resnet50", new[] { 256, 512, 1024, 2048 })]
    public void ResNetFeaturesHaveTheAdvertisedChannelsAndStrides(string variant, int[] channels)
    {
        using var encoder = new ResNet(variant);
        AssertContract(encoder, encoder, channels);
    }

    [Fact]
    public void MobileNetV2FeaturesHaveTheAdvertisedChannelsAndStrides()
    {
        using var encoder = new MobileNetV2();
        AssertContract(encoder, encoder, new[] { 24, 32, 96, 320 });
    }

    private static void AssertContract(IEncoder encoder, nn.Module module, int[] channels)
    {
        module.eval();
        Assert.Equal(channels, encoder.Channels);
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var features = encoder.ForwardFeatures(zeros(1, 3, 64, 128));
        Assert.Equal(encoder.Channels.Count, features.Length);
        for (int k = 0; k < features.Length; k++)
            Assert.Equal(new long[] { 1, encoder.Channels[k], 64 / encoder.Strides[k], 128 / encoder.Strides[k] }, features[k].shape);
    }
}
