using System.Reflection;
using FastSeg.Torch;

namespace FastSeg.Models.Zoo;

/// <summary>
/// The registry of networks: <c>ModelZoo.Create("icnet", encoder: "resnet18")</c>, or fluently
/// <c>ModelZoo.Model("bisenetv2").WithClasses(19).WithAuxHeads().Build()</c>.
/// </summary>
public static class ModelZoo
{
    private static readonly Lazy<IReadOnlyDictionary<string, IModelRegistration>> Registry = new(Discover);

    private static IReadOnlyDictionary<string, IModelRegistration> Discover()
    {
        var result = new SortedDictionary<string, IModelRegistration>(StringComparer.Ordinal);
        var types = typeof(ModelZoo).Assembly.GetTypes()
            .Where(t => typeof(IModelRegistration).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false });
        foreach (var type in types)
        {
            var registration = (IModelRegistration)Activator.CreateInstance(type, nonPublic: true)!;
            if (!result.TryAdd(registration.Info.Name, registration))
                throw new InvalidOperationException($"two networks are registered as '{registration.Info.Name}'");
        }
        return result;
    }

    /// <summary>Every registered network, by name.</summary>
    public static IReadOnlyList<ModelInfo> List() => Registry.Value.Values.Select(r => r.Info).ToList();

    /// <summary>Registered names.</summary>
    public static IReadOnlyList<string> Names => Registry.Value.Keys.ToList();

    /// <summary>The metadata of <paramref name="name"/>; throws listing the valid names if unknown.</summary>
    public static ModelInfo Describe(string name) => Find(name).Info;

    private static IModelRegistration Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Registry.Value.TryGetValue(name.ToLowerInvariant(), out var r)) return r;
        throw new ArgumentException($"unknown model '{name}'; valid names: {string.Join(", ", Registry.Value.Keys)}", nameof(name));
    }

    /// <summary>Builds a network, with freshly initialised weights unless <paramref name="weights"/> names some.</summary>
    /// <param name="name">Registry name (see <see cref="List"/>).</param>
    /// <param name="encoder">Encoder or variant (see <see cref="ModelInfo.Encoders"/>); null for the default.</param>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="aux">Enable auxiliary heads.</param>
    /// <param name="detail">Enable the detail head (STDC).</param>
    /// <param name="options">Network-specific options (see <see cref="ModelInfo.ExtraOptions"/>).</param>
    /// <param name="weights">
    /// Null for fresh weights; a published tag of the network such as "cityscapes" (see <see cref="PretrainedWeights"/>;
    /// downloaded into the cache on first use, chosen by the encoder; head weights the model was not asked for are
    /// skipped); or the path of a .pth file (any value naming an existing file).
    /// </param>
    public static SegmentationModel Create(string name, string? encoder = null, int numClasses = 19, bool aux = false,
        bool detail = false, IReadOnlyDictionary<string, string>? options = null, string? weights = null)
    {
        var builder = Model(name).WithClasses(numClasses).WithAuxHeads(aux).WithDetailHead(detail);
        if (encoder is not null) builder.WithEncoder(encoder);
        foreach (var (key, value) in options ?? new Dictionary<string, string>()) builder.WithOption(key, value);
        if (weights is not null)
        {
            if (File.Exists(weights)) builder.WithWeights(weights);
            else builder.WithPretrained(weights);
        }
        return builder.Build();
    }

    /// <summary>Builds a network from options, validating them against its metadata.</summary>
    public static SegmentationModel Create(string name, ModelOptions options)
    {
        var registration = Find(name);
        var info = registration.Info;
        var resolved = Validate(info, options);
        var model = registration.Build(resolved);
        model.Info = info;
        model.Options = resolved;
        return model;
    }

    /// <summary>
    /// The zoo name for a network named the zh320 way: <c>model = "smp"</c> with a <paramref name="decoder"/>
    /// (deeplabv3, deeplabv3p, fpn, linknet, manet, pan, pspnet, unet, unetpp) is <c>"smp/" + decoder</c>; any other
    /// model name is itself (the decoder is ignored, as zh320 ignores it). Throws naming the valid decoders.
    /// </summary>
    public static string ResolveName(string model, string? decoder)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!string.Equals(model, "smp", StringComparison.OrdinalIgnoreCase)) return model;
        if (string.IsNullOrEmpty(decoder))
            throw new ArgumentException($"model 'smp' needs a decoder; valid decoders: {string.Join(", ", Networks.SmpZoo.Decoders)}", nameof(decoder));
        return Networks.SmpZoo.ModelName(decoder);
    }

    /// <summary>Starts a fluent description of the network <paramref name="name"/>.</summary>
    public static ModelBuilder Model(string name) => new(Find(name).Info.Name);

    private static ModelOptions Validate(ModelInfo info, ModelOptions options)
    {
        if (options.NumClasses < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.NumClasses, $"{info.Name}: numClasses must be at least 1");
        string? encoder = options.Encoder;
        if (encoder is not null)
        {
            if (info.Encoders.Count == 0)
                throw new ArgumentException($"{info.Name} has no encoder choice; leave the encoder unset");
            encoder = encoder.ToLowerInvariant();
            if (!info.Encoders.Contains(encoder))
                throw new ArgumentException($"{info.Name} does not support encoder '{options.Encoder}'; valid encoders: {string.Join(", ", info.Encoders)}");
        }
        if (options.Aux && !info.SupportsAux)
        {
            var withAux = List().Where(i => i.SupportsAux).Select(i => i.Name);
            throw new ArgumentException($"{info.Name} has no auxiliary heads; networks with aux heads: {string.Join(", ", withAux)}");
        }
        if (options.Detail && !info.SupportsDetail)
        {
            var withDetail = List().Where(i => i.SupportsDetail).Select(i => i.Name);
            throw new ArgumentException($"{info.Name} has no detail head; networks with one: {string.Join(", ", withDetail)}");
        }
        var extra = new Dictionary<string, string>();
        foreach (var (key, allowed) in info.ExtraOptions) extra[key] = allowed[0];
        foreach (var (key, option) in info.ValueOptions) extra[key] = option.Default;
        foreach (var (key, value) in options.Extra)
        {
            if (info.ExtraOptions.TryGetValue(key, out var allowed))
            {
                if (!allowed.Contains(value))
                    throw new ArgumentException($"{info.Name} option '{key}' cannot be '{value}'; valid values: {string.Join(", ", allowed)}");
            }
            else if (info.ValueOptions.TryGetValue(key, out var option))
            {
                if (option.Check(value) is { } why)
                    throw new ArgumentException($"{info.Name} option '{key}' cannot be '{value}' ({why}); expected {option.Expected}");
            }
            else
            {
                var names = info.ExtraOptions.Keys.Concat(info.ValueOptions.Keys).ToList();
                var valid = names.Count == 0 ? "none" : string.Join(", ", names);
                throw new ArgumentException($"{info.Name} has no option '{key}'; valid options: {valid}");
            }
            extra[key] = value;
        }
        return options with { Encoder = encoder ?? info.DefaultEncoder, Extra = extra };
    }
}

/// <summary>
/// Fluent construction: <c>ModelZoo.Model("stdc").WithEncoder("stdc2").WithDetailHead().Build()</c>, with published
/// weights <c>ModelZoo.Model("ddrnet").WithPretrained("cityscapes").Build()</c> or an ImageNet encoder
/// <c>ModelZoo.Model("linknet").WithPretrainedEncoder("imagenet").Build()</c>.
/// </summary>
public sealed class ModelBuilder
{
    private readonly string _name;
    private ModelOptions _options = new();
    private bool _auxSet;
    private bool _detailSet;
    private string? _weights;
    private bool _strict = true;
    private string? _pretrained;
    private string? _pretrainedEncoder;
    private WeightsDownloader? _downloader;
    private IProgress<DownloadProgress>? _progress;

    internal ModelBuilder(string name) => _name = name;

    /// <summary>Sets the number of output classes.</summary>
    public ModelBuilder WithClasses(int numClasses)
    {
        _options = _options with { NumClasses = numClasses };
        return this;
    }

    /// <summary>Chooses the encoder or variant.</summary>
    public ModelBuilder WithEncoder(string encoder)
    {
        _options = _options with { Encoder = encoder };
        return this;
    }

    /// <summary>Enables auxiliary heads.</summary>
    public ModelBuilder WithAuxHeads(bool enabled = true)
    {
        _options = _options with { Aux = enabled };
        _auxSet = true;
        return this;
    }

    /// <summary>Enables the detail head (STDC).</summary>
    public ModelBuilder WithDetailHead(bool enabled = true)
    {
        _options = _options with { Detail = enabled };
        _detailSet = true;
        return this;
    }

    /// <summary>Sets a network-specific option.</summary>
    public ModelBuilder WithOption(string key, string value)
    {
        var extra = new Dictionary<string, string>(_options.Extra) { [key] = value };
        _options = _options with { Extra = extra };
        return this;
    }

    /// <summary>Loads a PyTorch state dict (.pth) after building; <paramref name="strict"/> as in load_state_dict.</summary>
    public ModelBuilder WithWeights(string path, bool strict = true)
    {
        _weights = path;
        _strict = strict;
        return this;
    }

    /// <summary>
    /// Loads the network's published weights <paramref name="tag"/> (see <see cref="PretrainedWeights"/>), downloading
    /// them into the cache on first use. They are chosen by the encoder (the default one unless
    /// <see cref="WithEncoder"/> names another), and set the heads they were trained with unless
    /// <see cref="WithAuxHeads"/> or <see cref="WithDetailHead"/> says otherwise. An unknown tag fails listing the valid ones.
    /// </summary>
    public ModelBuilder WithPretrained(string tag = "cityscapes")
    {
        _pretrained = tag;
        return this;
    }

    /// <summary>
    /// Loads published ImageNet weights (torchvision's) into the network's encoder (ResNet-18 to 152, MobileNetV2);
    /// the rest of the network keeps its fresh initialisation.
    /// </summary>
    public ModelBuilder WithPretrainedEncoder(string tag = "imagenet")
    {
        _pretrainedEncoder = tag;
        return this;
    }

    /// <summary>The cache folder and mirror published weights come from (default: <see cref="WeightsDownloader.FromEnvironment"/>).</summary>
    public ModelBuilder WithDownloader(WeightsDownloader downloader)
    {
        _downloader = downloader;
        return this;
    }

    /// <summary>Receives the progress of any download that <see cref="Build"/> makes.</summary>
    public ModelBuilder WithDownloadProgress(IProgress<DownloadProgress> progress)
    {
        _progress = progress;
        return this;
    }

    /// <summary>Builds the network (and loads the weights, if any).</summary>
    /// <exception cref="ArgumentException">Invalid options, an unknown weights tag, or two sources of weights at once.</exception>
    /// <exception cref="WeightsDownloadException">Published weights are not in the cache and cannot be downloaded.</exception>
    public SegmentationModel Build()
    {
        int sources = (_weights is null ? 0 : 1) + (_pretrained is null ? 0 : 1) + (_pretrainedEncoder is null ? 0 : 1);
        if (sources > 1)
            throw new ArgumentException($"{_name}: choose one source of weights (a file, published network weights or published encoder weights)");
        var options = _options;
        Inference.ModelCheckpoint? checkpoint = null;
        try
        {
            if (_pretrained is not null)
            {
                var entry = PretrainedWeights.Find(_name, _options.Encoder, _pretrained);
                if (_options.NumClasses != entry.NumClasses)
                    throw new ArgumentException($"{_name}: the '{entry.Tag}' weights have {entry.NumClasses} classes, not {_options.NumClasses}; " +
                                                "build with those, or load a checkpoint of your own");
                var extra = new Dictionary<string, string>(entry.Options);
                foreach (var (key, value) in _options.Extra) extra[key] = value;
                options = options with
                {
                    Encoder = entry.Encoder ?? _options.Encoder,
                    Aux = _auxSet ? _options.Aux : entry.Aux && ModelZoo.Describe(_name).SupportsAux,
                    Detail = _detailSet ? _options.Detail : entry.Detail,
                    Extra = extra,
                };
                // Fetched and read before the network is built, so a download problem costs no build.
                checkpoint = Inference.ModelCheckpoint.Read(PretrainedWeights.Fetch(entry, _downloader, _progress));
            }
            var model = ModelZoo.Create(_name, options);
            try
            {
                if (checkpoint is not null) checkpoint.LoadInto(model, headsOptional: true);
                else if (_pretrainedEncoder is not null) PretrainedWeights.LoadEncoder(model, _pretrainedEncoder, _downloader, _progress);
                else if (_weights is not null) model.LoadWeights(_weights, _strict);
                return model;
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        finally
        {
            checkpoint?.Dispose();
        }
    }
}
