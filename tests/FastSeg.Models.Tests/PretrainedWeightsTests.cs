using System.Text.Json;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests;

/// <summary>
/// The registry of published weights: every entry whose network is registered builds with the published parameter
/// count, lookups pick by encoder and list the valid tags otherwise, and ImageNet encoder weights find the encoder
/// inside every network that has one. Nothing here downloads.
/// </summary>
public class PretrainedWeightsTests
{
    public static IEnumerable<object[]> Entries() => PretrainedWeights.All.Select((e, i) => new object[] { i, e.Network + " " + e.Encoder });

    [Theory]
    [MemberData(nameof(Entries))]
    public void EveryEntryOfARegisteredNetworkBuildsWithThePublishedParameterCount(int index, string label)
    {
        var entry = PretrainedWeights.All[index];
        if (!ModelZoo.Names.Contains(entry.Network)) return; // another branch's network: listed, skipped until it is registered
        var info = ModelZoo.Describe(entry.Network);
        if (entry.Encoder is null) Assert.True(info.Encoders.Count == 0 || info.DefaultEncoder is not null, label);
        else Assert.Contains(entry.Encoder, info.Encoders);
        Assert.True(!entry.Aux || info.SupportsAux, $"{label}: aux weights for a network without aux heads");
        Assert.True(!entry.Detail || info.SupportsDetail, $"{label}: detail weights for a network without a detail head");

        using (var withHeads = ModelZoo.Create(entry.Network, entry.ModelOptions()))
            Assert.Equal(entry.NumClasses, withHeads.NumClasses);
        using var plain = ModelZoo.Create(entry.Network, entry.ModelOptions() with { Aux = false, Detail = false });
        double millions = plain.parameters().Sum(p => p.numel()) / 1e6;
        Assert.True(Math.Abs(millions - entry.ParamsMillions!.Value) <= 0.0051,
            $"{label}: {millions:F4} M parameters, the publisher says {entry.ParamsMillions} M");
    }

    [Fact]
    public void TheTableHasEveryPublishedFileOnceWithItsAddressAndCachePlace()
    {
        Assert.Equal(48, PretrainedWeights.All.Count); // zh320's README: 39 files of 37 networks (PP-LiteSeg and STDC twice) + 9 SMP decoders
        Assert.Equal(PretrainedWeights.All.Count, PretrainedWeights.All.Select(e => e.CachePath).Distinct().Count());
        Assert.Equal(PretrainedWeights.All.Count, PretrainedWeights.All.Select(e => (e.Network, e.Encoder, e.Tag)).Distinct().Count());
        foreach (var e in PretrainedWeights.All)
        {
            Assert.StartsWith("https://github.com/zh320/realtime-semantic-segmentation-pytorch/releases/download/v1.", e.Url);
            Assert.EndsWith("/" + e.CachePath.Split('/')[^1], e.Url);
            Assert.Equal(("cityscapes", "cityscapes", 19), (e.Tag, e.Dataset, e.NumClasses));
            Assert.InRange(e.MIoU, 60, 80);
            Assert.Null(e.Sha256Prefix); // zh320's file names carry no hash
        }
        Assert.Equal(74.34, PretrainedWeights.All.Single(e => e.Network == "ddrnet").MIoU);
        Assert.True(PretrainedWeights.All.Single(e => e.Network == "bisenetv2").Aux);
        Assert.Equal(new[] { "stdc1", "stdc2" }, PretrainedWeights.All.Where(e => e.Network == "ppliteseg").Select(e => e.Encoder!));
        Assert.Equal(9, PretrainedWeights.All.Count(e => e.Network.StartsWith("smp/", StringComparison.Ordinal) && e.Encoder == "resnet18"));

        Assert.Equal(new[] { "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "mobilenet_v2" }, PretrainedWeights.Encoders.Select(e => e.Encoder));
        foreach (var e in PretrainedWeights.Encoders)
        {
            Assert.Matches("^[0-9a-f]{8}$", e.Sha256Prefix);
            Assert.Equal($"https://download.pytorch.org/models/{e.Encoder}-{e.Sha256Prefix}.pth", e.Url);
            Assert.Equal("imagenet", e.Tag);
        }
    }

    [Fact]
    public void ListingsOnlyOfferRegisteredNetworks()
    {
        var registered = ModelZoo.Names.ToHashSet();
        Assert.All(PretrainedWeights.List(), e => Assert.Contains(e.Network, registered));
        Assert.Equal(PretrainedWeights.All.Count(e => registered.Contains(e.Network)), PretrainedWeights.List().Count);
        Assert.Contains(PretrainedWeights.List(), e => e.Network == "ddrnet");
        if (!registered.Contains("aglnet"))
        {
            Assert.Empty(PretrainedWeights.For("aglnet"));
            Assert.Throws<ArgumentException>(() => PretrainedWeights.Find("aglnet", null, "cityscapes"));
        }
    }

    [Fact]
    public void LookupsPickByEncoderAndListTheValidTagsOtherwise()
    {
        Assert.Equal("ppliteseg_stdc1.pth", Path.GetFileName(PretrainedWeights.Find("ppliteseg", null, "cityscapes").Url));
        Assert.Equal("ppliteseg_stdc2.pth", Path.GetFileName(PretrainedWeights.Find("PPLiteSeg", "STDC2", "Cityscapes").Url));
        Assert.Equal("ddrnet-23-slim.pth", Path.GetFileName(PretrainedWeights.Find("ddrnet", null, "cityscapes").Url));

        var unknown = Assert.Throws<ArgumentException>(() => PretrainedWeights.Find("ddrnet", null, "coco"));
        Assert.Contains("ddrnet has no pretrained weights 'coco'", unknown.Message);
        Assert.Contains("valid: cityscapes (23-slim)", unknown.Message);
        var otherEncoder = Assert.Throws<ArgumentException>(() => PretrainedWeights.Find("ddrnet", "39", "cityscapes"));
        Assert.Contains("encoder '39'", otherEncoder.Message);
        var encoderTag = Assert.Throws<ArgumentException>(() => ModelZoo.Model("ddrnet").WithPretrained("imagenet").Build());
        Assert.Contains("WithPretrainedEncoder", encoderTag.Message);
        var classes = Assert.Throws<ArgumentException>(() => ModelZoo.Model("ddrnet").WithClasses(5).WithPretrained().Build());
        Assert.Contains("19 classes", classes.Message);

        Assert.False(PretrainedWeights.LooksLikePath("cityscapes"));
        Assert.True(PretrainedWeights.LooksLikePath("best.pth"));
        Assert.True(PretrainedWeights.LooksLikePath("runs/x/last"));
    }

    // A torchvision-like state dict (keys and shapes from Fixtures/encoders.json) with distinct random values.
    private static Dictionary<string, Tensor> TorchvisionLike(string name)
    {
        var root = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "encoders.json"))).RootElement;
        var e = root.GetProperty(name);
        var keys = e.GetProperty("keys").EnumerateArray().Select(k => k.GetString()!).ToList();
        var shapes = e.GetProperty("shapes").EnumerateArray().Select(s => s.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToList();
        manual_seed(3);
        return keys.Select((k, i) => (k, t: k.EndsWith("num_batches_tracked", StringComparison.Ordinal) ? full(shapes[i], 9L, ScalarType.Int64) : randn(shapes[i])))
            .ToDictionary(x => x.k, x => x.t);
    }

    public static IEnumerable<object[]> NetworksWithImageNetEncoders() =>
        ModelZoo.List().SelectMany(i => i.Encoders.Where(e => e is "resnet18" or "mobilenet_v2").Select(e => new object[] { i.Name, e }));

    [Theory]
    [MemberData(nameof(NetworksWithImageNetEncoders))]
    public void ImageNetWeightsLandInTheEncoderWhateverItIsCalled(string network, string encoder)
    {
        using var scope = NewDisposeScope();
        var published = TorchvisionLike(encoder);
        using var model = ModelZoo.Create(network, encoder);
        var entry = PretrainedWeights.FindEncoder(model, "imagenet");
        var loaded = PretrainedWeights.LoadEncoderState(model, entry, published, "test");
        Assert.NotEmpty(loaded);
        var mapped = entry.Map(published);
        var state = model.state_dict();
        int compared = 0;
        foreach (var prefix in loaded)
            foreach (var (key, value) in mapped)
                if (state.TryGetValue(prefix + "." + key, out var own))
                {
                    if (network == "fanet" && key.StartsWith("layer1.0.", StringComparison.Ordinal))
                    {
                        // FANet replaces layer1[0] after loading ImageNet weights: that block keeps its own initialisation.
                        Assert.False(own.equal(value), $"{network}: {prefix}.{key} of the replaced block was overwritten");
                        continue;
                    }
                    Assert.True(own.equal(value), $"{network}: {prefix}.{key} was not loaded");
                    compared++;
                }
        Assert.True(2 * compared >= mapped.Count, $"{network}: only {compared} of {mapped.Count} encoder tensors found under {string.Join(", ", loaded)}");
    }

    [Fact]
    public void EncoderWeightsForAnEncoderWithoutThemNameTheEncodersThatHaveThem()
    {
        using var model = ModelZoo.Create("ppliteseg");
        var e = Assert.Throws<ArgumentException>(() => PretrainedWeights.FindEncoder(model, "imagenet"));
        Assert.Contains("'stdc1'", e.Message);
        Assert.Contains("resnet18, resnet34, resnet50, resnet101, resnet152, mobilenet_v2", e.Message);
        using var enet = ModelZoo.Create("enet");
        Assert.Contains("enet has no encoder choice", Assert.Throws<ArgumentException>(() => PretrainedWeights.FindEncoder(enet, "imagenet")).Message);
    }

    [Fact]
    public void PublishedHeadsThatTheModelLacksAreSkippedAndMissingHeadsKeepTheirValues()
    {
        var dir = Directory.CreateTempSubdirectory("fastseg-heads-").FullName;
        try
        {
            manual_seed(1);
            string withAux = Path.Combine(dir, "aux.pth"), plain = Path.Combine(dir, "plain.pth");
            using (var m = ModelZoo.Create("bisenetv2", aux: true)) m.SaveWeights(withAux);
            using (var m = ModelZoo.Create("bisenetv2")) m.SaveWeights(plain);

            using var file = ModelCheckpoint.Read(withAux);
            using var noHeads = ModelZoo.Create("bisenetv2");
            Assert.Throws<CheckpointMismatchException>(() => file.LoadInto(noHeads));
            file.LoadInto(noHeads, headsOptional: true);
            foreach (var (key, value) in noHeads.state_dict()) Assert.True(value.equal(file.StateDict[key]), key);

            using var plainFile = ModelCheckpoint.Read(plain);
            using var heads = ModelZoo.Create("bisenetv2", aux: true);
            plainFile.LoadInto(heads, headsOptional: true);
            foreach (var (key, value) in plainFile.StateDict) Assert.True(value.equal(heads.state_dict()[key]), key);

            using var other = ModelZoo.Create("enet");
            Assert.Throws<CheckpointMismatchException>(() => file.LoadInto(other, headsOptional: true));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
