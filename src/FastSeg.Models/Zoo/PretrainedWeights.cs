using FastSeg.Models.Encoders;
using FastSeg.Models.Inference;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Zoo;

/// <summary>
/// A published checkpoint of a whole network: where it is, which zoo network and options it belongs to, what it was
/// trained on and how well it scored. See <see cref="PretrainedWeights"/>.
/// </summary>
public sealed record PretrainedWeightsInfo
{
    /// <summary>The zoo name of the network (e.g. "ddrnet", "smp/unet").</summary>
    public required string Network { get; init; }

    /// <summary>The encoder or variant the weights are for; null when the network has no choice.</summary>
    public string? Encoder { get; init; }

    /// <summary>Whether the checkpoint was trained with auxiliary heads (their weights are in the file).</summary>
    public bool Aux { get; init; }

    /// <summary>Whether the checkpoint was trained with STDC's detail head.</summary>
    public bool Detail { get; init; }

    /// <summary>Network options the weights need, beyond the defaults (usually none).</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();

    /// <summary>The name to ask for them by (e.g. "cityscapes").</summary>
    public required string Tag { get; init; }

    /// <summary>The dataset the weights were trained on.</summary>
    public required string Dataset { get; init; }

    /// <summary>Output classes of the checkpoint.</summary>
    public int NumClasses { get; init; } = 19;

    /// <summary>The mIoU (%) the publisher reports for these weights (Cityscapes val for zh320's).</summary>
    public required double MIoU { get; init; }

    /// <summary>The publisher's parameter count, in millions (without auxiliary or detail heads).</summary>
    public double? ParamsMillions { get; init; }

    /// <summary>The published address of the file.</summary>
    public required string Url { get; init; }

    /// <summary>Leading hex digits of the file's SHA-256, when the publisher gives them (in the file name); null otherwise.</summary>
    public string? Sha256Prefix { get; init; }

    /// <summary>The file's place in the cache and on a mirror ('/'-separated, e.g. "zh320/v1.0/enet.pth").</summary>
    public required string CachePath { get; init; }

    /// <summary>Who published them and in which release (e.g. "zh320 v1.0").</summary>
    public required string Source { get; init; }

    /// <summary>The options to build the network with for these weights.</summary>
    public ModelOptions ModelOptions() => new()
    {
        Encoder = Encoder,
        NumClasses = NumClasses,
        Aux = Aux,
        Detail = Detail,
        Extra = Options,
    };

    /// <summary>"cityscapes (23-slim)", or "cityscapes" for a network without encoder choice.</summary>
    public override string ToString() => Encoder is null ? Tag : $"{Tag} ({Encoder})";
}

/// <summary>Published ImageNet weights of an encoder (torchvision's), for the encoder part of a network.</summary>
public sealed record EncoderWeightsInfo
{
    /// <summary>The encoder name as the zoo's networks spell it (e.g. "resnet18", "mobilenet_v2").</summary>
    public required string Encoder { get; init; }

    /// <summary>The name to ask for them by ("imagenet").</summary>
    public required string Tag { get; init; }

    /// <summary>The published address (torchvision's <c>IMAGENET1K_V1</c> weights, as <c>pretrained=True</c> loads them).</summary>
    public required string Url { get; init; }

    /// <summary>Leading hex digits of the file's SHA-256 (from the file name, as torch.hub checks it).</summary>
    public required string Sha256Prefix { get; init; }

    /// <summary>The file's place in the cache and on a mirror.</summary>
    public required string CachePath { get; init; }

    /// <summary>Maps the file's state dict onto the zoo's encoder module (drops the classifier, renames stages).</summary>
    internal Func<IReadOnlyDictionary<string, Tensor>, Dictionary<string, Tensor>> Map { get; init; } = ResNet.FromTorchvision;
}

/// <summary>
/// Pretrained weights by name. Whole networks: zh320/realtime-semantic-segmentation-pytorch's Cityscapes checkpoints
/// (release assets v1.0, v1.1 and v1.2, with the mIoU its README publishes), asked for as
/// <c>ModelZoo.Model("ddrnet").WithPretrained("cityscapes")</c>. Encoders: torchvision's ImageNet weights for ResNet-18
/// to 152 and MobileNetV2, loaded into a network's encoder with <c>WithPretrainedEncoder("imagenet")</c>.
/// </summary>
/// <remarks>
/// The list names networks that other parts of the zoo may not (yet) have; <see cref="List"/> and the lookups only
/// offer entries whose network is registered. Files are fetched through <see cref="WeightsDownloader"/> (cache,
/// mirror, verification) and read with the safe checkpoint reader, which never runs code from the file.
/// </remarks>
public static class PretrainedWeights
{
    private const string Zh320 = "https://github.com/zh320/realtime-semantic-segmentation-pytorch/releases/download/";
    private const string Torchvision = "https://download.pytorch.org/models/";

    // zh320's README, "Performances and Checkpoints": network, encoder as the zoo names it (null: no choice), mIoU
    // (val, 800 epochs) and parameters (M, "my" column), release and file. SMP decoders all use ResNet-18.
    private static PretrainedWeightsInfo Zh(string network, string? encoder, double miou, double paramsM, string release, string file,
        bool aux = false) => new()
    {
        Network = network,
        Encoder = encoder,
        Aux = aux,
        Tag = "cityscapes",
        Dataset = "cityscapes",
        MIoU = miou,
        ParamsMillions = paramsM,
        Url = Zh320 + release + "/" + file,
        CachePath = $"zh320/{release}/{file}",
        Source = "zh320 " + release,
    };

    /// <summary>Every published network checkpoint, whether or not its network is registered in this build.</summary>
    public static IReadOnlyList<PretrainedWeightsInfo> All { get; } =
    [
        Zh("adscnet", null, 69.06, 0.51, "v1.0", "adscnet.pth"),
        Zh("aglnet", null, 73.58, 1.02, "v1.0", "aglnet.pth"),
        Zh("bisenetv1", "resnet18", 74.91, 13.32, "v1.0", "bisenetv1.pth"),
        Zh("bisenetv2", null, 73.73, 2.27, "v1.0", "bisenetv2-aux.pth", aux: true), // trained with its aux heads
        Zh("canet", "mobilenet_v2", 76.59, 4.77, "v1.1", "canet.pth"),
        Zh("cfpnet", null, 70.08, 0.27, "v1.0", "cfpnet.pth"),
        Zh("cgnet", null, 67.25, 0.24, "v1.0", "cgnet.pth"),
        Zh("contextnet", null, 66.61, 1.01, "v1.0", "contextnet.pth"),
        Zh("dabnet", null, 70.78, 0.75, "v1.0", "dabnet.pth"),
        Zh("ddrnet", "23-slim", 74.34, 5.54, "v1.0", "ddrnet-23-slim.pth"),
        Zh("dfanet", "a", 65.28, 3.05, "v1.0", "dfanet-a.pth"),
        Zh("edanet", null, 70.76, 0.69, "v1.0", "edanet.pth"),
        Zh("enet", null, 71.31, 0.37, "v1.0", "enet.pth"),
        Zh("erfnet", null, 76.00, 2.07, "v1.0", "erfnet.pth"),
        Zh("esnet", null, 71.82, 1.66, "v1.0", "esnet.pth"),
        Zh("espnet", null, 66.39, 0.38, "v1.0", "espnet.pth"),
        Zh("espnetv2", null, 70.35, 0.86, "v1.0", "espnetv2.pth"),
        Zh("fanet", "resnet18", 74.92, 12.26, "v1.2", "fanet.pth"),
        Zh("farseenet", "resnet18", 77.35, 16.75, "v1.0", "farseenet.pth"),
        Zh("fastscnn", null, 69.37, 1.02, "v1.0", "fastscnn.pth"),
        Zh("fddwnet", null, 75.86, 0.77, "v1.0", "fddwnet.pth"),
        Zh("fpenet", null, 72.05, 0.36, "v1.0", "fpenet.pth"),
        Zh("fssnet", null, 65.44, 0.20, "v1.0", "fssnet.pth"),
        Zh("icnet", "resnet18", 69.65, 12.42, "v1.0", "icnet.pth"),
        Zh("lednet", null, 72.63, 1.46, "v1.1", "lednet.pth"),
        Zh("linknet", "resnet18", 73.39, 11.54, "v1.1", "linknet.pth"),
        Zh("litehrnet", null, 70.66, 1.09, "v1.2", "lite_hrnet.pth"),
        Zh("liteseg", "mobilenet_v2", 76.10, 4.29, "v1.1", "liteseg.pth"),
        Zh("mininet", null, 61.47, 1.41, "v1.1", "mininet.pth"),
        Zh("mininetv2", null, 71.79, 0.51, "v1.0", "mininetv2.pth"),
        Zh("ppliteseg", "stdc1", 72.49, 6.33, "v1.0", "ppliteseg_stdc1.pth"),
        Zh("ppliteseg", "stdc2", 74.37, 10.56, "v1.0", "ppliteseg_stdc2.pth"),
        Zh("regseg", null, 74.28, 3.37, "v1.2", "regseg.pth"),
        Zh("segnet", null, 70.77, 29.48, "v1.0", "segnet.pth"),
        Zh("shelfnet", "resnet18", 77.63, 16.04, "v1.0", "shelfnet.pth"),
        Zh("sqnet", null, 69.55, 4.81, "v1.0", "sqnet.pth"),
        // The README's footnote on both STDC files: auxiliary heads helped (the detail head did not). If a file lacks
        // the aux heads' weights, the loader leaves those heads at their initial values.
        Zh("stdc", "stdc1", 75.25, 7.79, "v1.2", "stdc1.pth", aux: true),
        Zh("stdc", "stdc2", 76.78, 11.82, "v1.2", "stdc2.pth", aux: true),
        Zh("swiftnet", "resnet18", 75.43, 11.95, "v1.0", "swiftnet.pth"),
        // "SMP Performances on Cityscapes", 800-epoch column; every decoder on a ResNet-18 encoder.
        Zh("smp/deeplabv3", "resnet18", 77.16, 15.90, "v1.2", "deeplabv3.pth"),
        Zh("smp/deeplabv3p", "resnet18", 75.90, 12.33, "v1.2", "deeplabv3p.pth"),
        Zh("smp/fpn", "resnet18", 74.94, 13.05, "v1.2", "fpn.pth"),
        Zh("smp/linknet", "resnet18", 73.19, 11.66, "v1.2", "linknet.pth"),
        Zh("smp/manet", "resnet18", 76.14, 21.68, "v1.2", "manet.pth"),
        Zh("smp/pan", "resnet18", 72.46, 11.37, "v1.2", "pan.pth"),
        Zh("smp/pspnet", "resnet18", 67.26, 11.41, "v1.2", "pspnet.pth"),
        Zh("smp/unet", "resnet18", 74.45, 14.33, "v1.2", "unet.pth"),
        Zh("smp/unetpp", "resnet18", 75.57, 15.97, "v1.2", "unetpp.pth"),
    ];

    private static EncoderWeightsInfo Tv(string encoder, string file, Func<IReadOnlyDictionary<string, Tensor>, Dictionary<string, Tensor>> map) => new()
    {
        Encoder = encoder,
        Tag = "imagenet",
        Url = Torchvision + file,
        Sha256Prefix = file[(file.LastIndexOf('-') + 1)..file.IndexOf('.', StringComparison.Ordinal)],
        CachePath = "torchvision/" + file,
        Map = map,
    };

    /// <summary>torchvision 0.14's ImageNet-1K (V1) weights of the encoders the zoo's networks use.</summary>
    public static IReadOnlyList<EncoderWeightsInfo> Encoders { get; } =
    [
        Tv("resnet18", "resnet18-f37072fd.pth", ResNet.FromTorchvision),
        Tv("resnet34", "resnet34-b627a593.pth", ResNet.FromTorchvision),
        Tv("resnet50", "resnet50-0676ba61.pth", ResNet.FromTorchvision),
        Tv("resnet101", "resnet101-63fe2227.pth", ResNet.FromTorchvision),
        Tv("resnet152", "resnet152-394f9c45.pth", ResNet.FromTorchvision),
        Tv("mobilenet_v2", "mobilenet_v2-b0353104.pth", MobileNetV2.FromTorchvision),
    ];

    /// <summary>The network checkpoints whose network is registered in the zoo, in <see cref="All"/>'s order.</summary>
    public static IReadOnlyList<PretrainedWeightsInfo> List()
    {
        var names = ModelZoo.Names.ToHashSet(StringComparer.Ordinal);
        return All.Where(e => names.Contains(e.Network)).ToList();
    }

    /// <summary>The checkpoints published for <paramref name="network"/> (empty when none, or when it is not registered).</summary>
    public static IReadOnlyList<PretrainedWeightsInfo> For(string network)
    {
        ArgumentNullException.ThrowIfNull(network);
        string name = network.ToLowerInvariant();
        return ModelZoo.Names.Contains(name) ? All.Where(e => e.Network == name).ToList() : [];
    }

    /// <summary>Whether <paramref name="value"/> is a tag of some network or encoder checkpoint ("cityscapes", "imagenet").</summary>
    public static bool IsTag(string value) =>
        All.Any(e => string.Equals(e.Tag, value, StringComparison.OrdinalIgnoreCase))
        || Encoders.Any(e => string.Equals(e.Tag, value, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The checkpoint <paramref name="tag"/> of <paramref name="network"/> with <paramref name="encoder"/> (null: the
    /// network's default encoder).
    /// </summary>
    /// <exception cref="ArgumentException">
    /// Unknown network, or no such checkpoint: the message lists the tags (and encoders) published for the network.
    /// </exception>
    public static PretrainedWeightsInfo Find(string network, string? encoder, string tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        var info = ModelZoo.Describe(network);
        var entries = For(info.Name);
        string wanted = encoder?.ToLowerInvariant() ?? info.DefaultEncoder ?? "";
        var match = entries.FirstOrDefault(e => string.Equals(e.Tag, tag, StringComparison.OrdinalIgnoreCase)
                                                && (e.Encoder ?? info.DefaultEncoder ?? "") == wanted);
        if (match is not null) return match;
        string published = entries.Count == 0 ? "none are published for it" : "valid: " + string.Join(", ", entries);
        if (Encoders.Any(e => string.Equals(e.Tag, tag, StringComparison.OrdinalIgnoreCase)))
            throw new ArgumentException($"'{tag}' names encoder weights; load them with WithPretrainedEncoder(\"{tag}\") " +
                                        $"(--encoder_weights {tag}); whole-network weights of {info.Name}: {published}", nameof(tag));
        if (entries.Any(e => string.Equals(e.Tag, tag, StringComparison.OrdinalIgnoreCase)))
            throw new ArgumentException($"{info.Name} has no '{tag}' weights for encoder '{wanted}'; {published}", nameof(encoder));
        throw new ArgumentException($"{info.Name} has no pretrained weights '{tag}'; {published}", nameof(tag));
    }

    /// <summary>
    /// The local path of <paramref name="entry"/>'s file, downloaded first when it is not in the cache; a new file is
    /// read once with the safe checkpoint reader before it enters the cache.
    /// </summary>
    /// <exception cref="WeightsDownloadException">It cannot be had (one line: URL, reason, cache path).</exception>
    public static string Fetch(PretrainedWeightsInfo entry, WeightsDownloader? downloader = null, IProgress<DownloadProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return (downloader ?? WeightsDownloader.FromEnvironment()).Fetch(entry.Url, entry.CachePath, entry.Sha256Prefix, progress, CheckReadable);
    }

    /// <summary>The local path of <paramref name="entry"/>'s file, downloaded first when it is not in the cache.</summary>
    /// <exception cref="WeightsDownloadException">It cannot be had (one line: URL, reason, cache path).</exception>
    public static string Fetch(EncoderWeightsInfo entry, WeightsDownloader? downloader = null, IProgress<DownloadProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return (downloader ?? WeightsDownloader.FromEnvironment()).Fetch(entry.Url, entry.CachePath, entry.Sha256Prefix, progress, CheckReadable);
    }

    /// <summary>
    /// The local file for a weights argument as the CLI and the trainer take it: an existing file (or anything that
    /// looks like a path: it has a folder separator or a .pth/.pt/.tar ending) is itself; any other value is a
    /// published tag of <paramref name="network"/> with <paramref name="encoder"/>, fetched into the cache.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown tag (the message lists the valid ones for the network).</exception>
    /// <exception cref="WeightsDownloadException">The tag's file is not cached and cannot be downloaded.</exception>
    public static string ResolvePath(string network, string? encoder, string weights, WeightsDownloader? downloader = null,
        IProgress<DownloadProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (LooksLikePath(weights)) return weights;
        return Fetch(Find(network, encoder, weights), downloader, progress);
    }

    /// <summary>Whether a weights argument is a file path rather than a tag (see <see cref="ResolvePath"/>).</summary>
    public static bool LooksLikePath(string weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return File.Exists(weights) || Directory.Exists(weights)
               || weights.IndexOfAny(['/', Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]) >= 0
               || new[] { ".pth", ".pt", ".tar", ".ckpt", ".bin" }.Any(x => weights.EndsWith(x, StringComparison.OrdinalIgnoreCase));
    }

    private static void CheckReadable(string path)
    {
        using var checkpoint = ModelCheckpoint.Read(path);
    }

    /// <summary>
    /// Loads the checkpoint <paramref name="tag"/> of the network <paramref name="model"/> is (built through the zoo),
    /// for its encoder. Auxiliary or detail heads the file has and the model lacks are skipped; heads the model has and
    /// the file lacks keep their values. Every other weight must be in the file with the model's shape.
    /// </summary>
    /// <returns>The entry that was loaded.</returns>
    /// <exception cref="ArgumentException">The model was not built by the zoo, or no such checkpoint (lists the valid ones).</exception>
    /// <exception cref="WeightsDownloadException">The file cannot be had.</exception>
    /// <exception cref="CheckpointMismatchException">The file's weights do not fit the model (e.g. another class count).</exception>
    public static PretrainedWeightsInfo Load(SegmentationModel model, string tag, WeightsDownloader? downloader = null,
        IProgress<DownloadProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Info is null || model.Options is null)
            throw new ArgumentException($"{model.Name} was not built by the zoo, so its published weights cannot be looked up; load a file instead", nameof(model));
        var entry = Find(model.Info.Name, model.Options.Encoder, tag);
        string path = Fetch(entry, downloader, progress);
        using var checkpoint = ModelCheckpoint.Read(path);
        checkpoint.LoadInto(model, headsOptional: true);
        return entry;
    }

    /// <summary>
    /// The encoder weights <paramref name="tag"/> ("imagenet") for <paramref name="model"/>'s encoder (its
    /// <see cref="ModelOptions.Encoder"/>).
    /// </summary>
    /// <exception cref="ArgumentException">No such weights for that encoder (the message lists the encoders that have them).</exception>
    public static EncoderWeightsInfo FindEncoder(SegmentationModel model, string tag)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tag);
        string network = model.Info?.Name ?? model.Name;
        string? encoder = model.Options?.Encoder;
        var tagged = Encoders.Where(e => string.Equals(e.Tag, tag, StringComparison.OrdinalIgnoreCase)).ToList();
        if (tagged.Count == 0)
        {
            var tags = Encoders.Select(e => e.Tag).Distinct();
            throw new ArgumentException($"no encoder weights are called '{tag}'; valid: {string.Join(", ", tags)}", nameof(tag));
        }
        var match = tagged.FirstOrDefault(e => e.Encoder == encoder);
        if (match is not null) return match;
        string which = encoder is null ? $"{network} has no encoder choice" : $"{network}'s encoder '{encoder}' has none";
        throw new ArgumentException($"no '{tag}' encoder weights for {network}: {which}; they exist for the encoders " +
                                    string.Join(", ", tagged.Select(e => e.Encoder)), nameof(model));
    }

    /// <summary>
    /// Loads ImageNet weights into <paramref name="model"/>'s encoder: every submodule laid out like the encoder
    /// (torchvision's keys, after <see cref="ResNet.FromTorchvision"/> or <see cref="MobileNetV2.FromTorchvision"/>)
    /// receives them, whatever its name in the network (<c>backbone.</c>, <c>context_path.backbone.</c>, ...). The
    /// rest of the network keeps its values.
    /// </summary>
    /// <returns>The names of the submodules that were loaded.</returns>
    /// <exception cref="ArgumentException">No such weights for the encoder, or no submodule is laid out like it.</exception>
    /// <exception cref="WeightsDownloadException">The file cannot be had.</exception>
    public static IReadOnlyList<string> LoadEncoder(SegmentationModel model, string tag = "imagenet", WeightsDownloader? downloader = null,
        IProgress<DownloadProgress>? progress = null)
    {
        var entry = FindEncoder(model, tag);
        string path = Fetch(entry, downloader, progress);
        using var checkpoint = ModelCheckpoint.Read(path);
        return LoadEncoderState(model, entry, checkpoint.StateDict, path);
    }

    /// <summary>Copies an encoder's published state dict into the matching submodules of <paramref name="model"/>.</summary>
    internal static IReadOnlyList<string> LoadEncoderState(SegmentationModel model, EncoderWeightsInfo entry,
        IReadOnlyDictionary<string, Tensor> published, string source)
    {
        using var scope = NewDisposeScope();
        var mapped = entry.Map(published);
        int wanted = mapped.Keys.Count(k => !IsCounter(k));
        var loaded = new List<string>();
        foreach (var (name, module) in model.named_modules())
        {
            if (loaded.Any(l => l.Length == 0 || name.StartsWith(l + ".", StringComparison.Ordinal))) continue;
            var own = module.state_dict();
            var keys = own.Keys.Where(k => !IsCounter(k)).ToList();
            // The encoder's own root: its keys are the published encoder's, with the same shapes, and it holds at least
            // half of them (a network may leave out the last stage). A block with keys the encoder lacks was replaced
            // by the network after loading (FANet's stride-2 layer1.0 with its own shortcut): like the reference, it
            // keeps its fresh initialisation, and the rest of the encoder still gets the published weights.
            var matching = keys.Where(k => mapped.TryGetValue(k, out var t) && t.shape.SequenceEqual(own[k].shape)).ToHashSet();
            if (matching.Count == 0 || 2 * matching.Count < wanted) continue;
            var replaced = keys.Where(k => !matching.Contains(k)).Select(BlockOf).ToHashSet();
            if (replaced.Count > 1) continue;
            var take = own.Keys.Where(k => mapped.TryGetValue(k, out var t) && t.shape.SequenceEqual(own[k].shape) && !replaced.Contains(BlockOf(k)));
            module.load_state_dict(take.ToDictionary(k => k, k => mapped[k]), strict: false);
            loaded.Add(name);
        }
        if (loaded.Count == 0)
            throw new ArgumentException($"{source}: no part of {model.Info?.Name ?? model.Name} is laid out like the {entry.Encoder} encoder " +
                                        "(torchvision's keys and shapes), so its ImageNet weights have nowhere to go", nameof(model));
        return loaded;
    }

    /// <summary>The encoder block a key belongs to: "layer1.0" for "layer1.0.conv1.weight", "conv1" for "conv1.weight".</summary>
    private static string BlockOf(string key)
    {
        var parts = key.Split('.');
        return parts.Length > 2 && parts[0].StartsWith("layer", StringComparison.Ordinal) ? parts[0] + "." + parts[1] : parts[0];
    }

    private static bool IsCounter(string key) => key.EndsWith("num_batches_tracked", StringComparison.Ordinal);
}
