using System.Globalization;
using System.Text.Json;
using FastSeg.Models.Zoo;
using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Inference;

/// <summary>
/// A network's weights read from a PyTorch <c>.pth</c> file: a checkpoint of <c>FastSeg.Training</c>'s trainer
/// (<c>last.pth</c>, <c>best.pth</c>: the weights under <c>state_dict</c>, the options as JSON under <c>config</c>), a
/// checkpoint dict holding the weights under <c>model</c>, or a bare state dict (Python's
/// <c>torch.save(model.state_dict(), path)</c>). A <c>module.</c> prefix on every key (PyTorch's DataParallel) is removed.
/// <see cref="CreateModel"/> builds the zoo network the weights belong to and loads them; weights that do not fit are
/// one <see cref="CheckpointMismatchException"/> whose message summarises the missing, unexpected and mis-shaped keys.
/// </summary>
/// <remarks>
/// <para>This is FastSeg's one reader and writer of <c>.pth</c> weights: the trainer resumes from it and writes with
/// <see cref="Write"/>, the predictor, <c>fastseg predict</c>/<c>val</c>/<c>export</c> and <c>LoadWeights</c> read with
/// it. A trainer checkpoint's other entries (epoch, best score, optimiser, scheduler, EMA, scaler, options) are in
/// <see cref="Training"/>.</para>
/// <para>The tensors (weights and training state) belong to this object (no dispose scope); <see cref="Dispose"/> frees them.</para>
/// </remarks>
public sealed class ModelCheckpoint : IDisposable
{
    private const string DataParallelPrefix = "module.";
    private readonly Dictionary<string, Tensor> _state;
    private readonly List<Tensor> _trainingTensors;

    private ModelCheckpoint(string path, Dictionary<string, Tensor> state, string? entry, TrainingState? training, List<Tensor> trainingTensors)
    {
        FilePath = path;
        _state = state;
        WeightsEntry = entry;
        Training = training;
        _trainingTensors = trainingTensors;
        if (training?.Config is { } json) (ModelName, ModelOptions) = ParseConfig(json);
    }

    /// <summary>
    /// The keys of a trainer checkpoint, in the order <see cref="Write"/> writes them: zh320's <c>cur_epoch</c>,
    /// <c>best_score</c>, <c>state_dict</c>, <c>optimizer</c>, <c>scheduler</c>, then <c>train_itrs</c>, <c>ema</c>,
    /// <c>scaler</c>, <c>random_seed</c>, <c>config</c>.
    /// </summary>
    public static IReadOnlyList<string> TrainerKeys { get; } =
        ["cur_epoch", "best_score", "state_dict", "optimizer", "scheduler", "train_itrs", "ema", "scaler", "random_seed", "config"];

    /// <summary>The file the weights came from.</summary>
    public string FilePath { get; }

    /// <summary>The weights, by PyTorch parameter name.</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict => _state;

    /// <summary>The checkpoint entry that held the weights ("state_dict" or "model"), or null for a bare state dict.</summary>
    public string? WeightsEntry { get; }

    /// <summary>A trainer checkpoint's training state (epoch, best score, optimiser, ...), or null for bare weights.</summary>
    public TrainingState? Training { get; }

    /// <summary>The zoo name of the network the trainer's options name (<c>model</c>, with <c>decoder</c> for SMP), or null.</summary>
    public string? ModelName { get; }

    /// <summary>
    /// How the trainer's options built the network (<c>encoder</c>, <c>num_class</c>, <c>use_aux</c>,
    /// <c>use_detail_head</c>), or null when the file records no options.
    /// </summary>
    public ModelOptions? ModelOptions { get; }

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointFormatException">The file is not a readable PyTorch checkpoint.</exception>
    /// <exception cref="InvalidDataException">It holds no state dict (the message names the file and what it found).</exception>
    public static ModelCheckpoint Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new FileNotFoundException($"{path}: is a folder, not a checkpoint file", path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: checkpoint file not found", path);
        // Everything load() creates lands in this scope; only the state dict's tensors are detached from it and kept.
        using var scope = NewDisposeScope();
        var loaded = load(path);
        if (loaded is not Dictionary<string, object?> top)
            throw new InvalidDataException($"{path}: expected a state dict or a checkpoint dict, found {Describe(loaded)}");
        string? entry = null;
        var weights = top;
        foreach (var key in new[] { "state_dict", "model" })
        {
            if (top.TryGetValue(key, out var inner) && inner is Dictionary<string, object?> innerDict)
            {
                entry = key;
                weights = innerDict;
                break;
            }
        }
        var state = new Dictionary<string, Tensor>(weights.Count, StringComparer.Ordinal);
        foreach (var (key, value) in weights)
        {
            if (value is not Tensor t)
                throw new InvalidDataException(
                    $"{path}: {(entry is null ? "" : $"entry '{entry}', ")}key '{key}' is {Describe(value)}, not a tensor; " +
                    "expected a state dict, or a checkpoint with the weights under 'state_dict' or 'model'");
            state[key] = t;
        }
        if (state.Count == 0) throw new InvalidDataException($"{path}: the state dict is empty");
        state = WithoutDataParallelPrefix(state);
        foreach (var t in state.Values) t.DetachFromDisposeScope();
        var kept = new List<Tensor>();
        var training = entry == "state_dict" ? ReadTraining(path, top, kept) : null;
        return new ModelCheckpoint(path, state, entry, training, kept);
    }

    // PyTorch's DataParallel/DistributedDataParallel save every key under "module.".
    private static Dictionary<string, Tensor> WithoutDataParallelPrefix(Dictionary<string, Tensor> state) =>
        state.Count > 0 && state.Keys.All(k => k.StartsWith(DataParallelPrefix, StringComparison.Ordinal))
            ? state.ToDictionary(kv => kv.Key[DataParallelPrefix.Length..], kv => kv.Value, StringComparer.Ordinal)
            : state;

    // The entries beside a trainer checkpoint's state_dict; every tensor in them is kept (and freed by Dispose).
    private static TrainingState ReadTraining(string path, Dictionary<string, object?> top, List<Tensor> kept)
    {
        Dictionary<string, object?>? Dict(string key)
        {
            if (!top.TryGetValue(key, out var v) || v is null) return null;
            if (v is not Dictionary<string, object?> d) throw new InvalidDataException($"{path}: entry '{key}' is {Describe(v)}, not a dict");
            Keep(d, kept);
            return d;
        }
        Dictionary<string, Tensor>? ema = null;
        if (Dict("ema") is { } emaDict)
        {
            ema = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (key, value) in emaDict)
                ema[key] = value as Tensor ?? throw new InvalidDataException($"{path}: entry 'ema', key '{key}' is {Describe(value)}, not a tensor");
            ema = WithoutDataParallelPrefix(ema);
        }
        long? Long(string key) => top.GetValueOrDefault(key) switch { long l => l, int i => i, _ => null };
        return new TrainingState
        {
            Epoch = Long("cur_epoch") is { } e ? checked((int)e) : null,
            BestScore = top.GetValueOrDefault("best_score") switch { double d => d, long l => l, _ => null },
            Iterations = Long("train_itrs"),
            Optimizer = Dict("optimizer"),
            Scheduler = Dict("scheduler"),
            Ema = ema,
            Scaler = Dict("scaler"),
            RandomSeed = Long("random_seed"),
            Config = top.GetValueOrDefault("config") as string,
        };
    }

    private static void Keep(object? value, List<Tensor> kept)
    {
        switch (value)
        {
            case Tensor t:
                t.DetachFromDisposeScope();
                kept.Add(t);
                break;
            case System.Collections.IDictionary d:
                foreach (var v in d.Values) Keep(v, kept);
                break;
            case System.Collections.IEnumerable list and not string:
                foreach (var v in list) Keep(v, kept);
                break;
        }
    }

    /// <summary>
    /// Writes a checkpoint atomically (a temporary file renamed into place, as <c>torch.save</c> here does):
    /// <paramref name="stateDict"/> alone as a bare state dict when <paramref name="training"/> is null, else a trainer
    /// checkpoint with <see cref="TrainerKeys"/> (null entries are written as None), loadable by PyTorch's
    /// <c>torch.load</c> and by zh320's trainer.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist.</exception>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> stateDict, TrainingState? training = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(stateDict);
        var weights = stateDict.ToDictionary(kv => kv.Key, kv => (object?)kv.Value);
        if (training is null)
        {
            save(weights, path);
            return;
        }
        var ckpt = new Dictionary<string, object?>
        {
            ["cur_epoch"] = (long)(training.Epoch ?? 0),
            ["best_score"] = training.BestScore ?? 0.0,
            ["state_dict"] = weights,
            ["optimizer"] = training.Optimizer,
            ["scheduler"] = training.Scheduler,
            ["train_itrs"] = training.Iterations,
            ["ema"] = training.Ema?.ToDictionary(kv => kv.Key, kv => (object?)kv.Value),
            ["scaler"] = training.Scaler,
            ["random_seed"] = training.RandomSeed,
            ["config"] = training.Config,
        };
        save(ckpt, path);
    }

    private static string Describe(object? value) => value switch
    {
        null => "None",
        Dictionary<string, object?> => "a dict",
        string => "a string",
        long or int => "an int",
        double => "a float",
        _ => "a " + value.GetType().Name,
    };

    // The trainer writes its options as a JSON object with the reference's keys; a config that is not one (another
    // tool's) says nothing about the network.
    private static (string?, ModelOptions?) ParseConfig(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, null);
            string? Text(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            bool Flag(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.True;
            string? name = Text("model");
            if (name is not null)
            {
                try
                {
                    name = ModelZoo.ResolveName(name, Text("decoder"));
                }
                catch (ArgumentException)
                {
                    // An unknown name stays as recorded: CreateModel then names it in the zoo's error.
                }
            }
            IReadOnlyDictionary<string, string> extra;
            try
            {
                extra = ModelOptions.ParseExtra(Text("model_options"));
            }
            catch (FormatException)
            {
                extra = new Dictionary<string, string>(); // the trainer validated it when it wrote the file; another tool's text says nothing
            }
            var options = new ModelOptions
            {
                Encoder = Text("encoder"),
                NumClasses = root.TryGetProperty("num_class", out var n) && n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out var k) ? k : 19,
                Aux = Flag("use_aux"),
                Detail = Flag("use_detail_head"),
                Extra = extra,
            };
            return (name, options);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    /// <summary>
    /// Builds the zoo network these weights belong to, in evaluation mode, and loads them. Unset arguments come from
    /// the trainer's config when the file has one (for the same network), the class count otherwise from the shape of
    /// the network's classifier in the weights (19 when it cannot be told). Auxiliary and detail heads are built when
    /// the config says they were trained or when the weights hold them; they only matter in training mode, so the
    /// logits are the same.
    /// </summary>
    /// <param name="name">Zoo name; null for the config's.</param>
    /// <param name="encoder">Encoder or variant; null for the config's (same network) or the network's default.</param>
    /// <param name="numClasses">Class count; null to take it from the config or the weights.</param>
    /// <exception cref="ArgumentException">No name given and none recorded; unknown name or encoder (from the zoo).</exception>
    /// <exception cref="CheckpointMismatchException">The weights do not fit the network (one line, see its message).</exception>
    public SegmentationModel CreateModel(string? name = null, string? encoder = null, int? numClasses = null)
    {
        var config = ModelOptions;
        name ??= ModelName ?? throw new ArgumentException(
            $"{FilePath}: no network named and the checkpoint does not record one (it has no trainer config); give the model name");
        bool sameAsConfig = config is not null && ModelName is not null && string.Equals(ModelName, name, StringComparison.OrdinalIgnoreCase);
        if (sameAsConfig)
        {
            encoder ??= config!.Encoder;
            numClasses ??= config!.NumClasses;
        }
        var info = ModelZoo.Describe(name);
        var options = new ModelOptions
        {
            Encoder = encoder,
            NumClasses = numClasses ?? 19,
            Aux = sameAsConfig && config!.Aux && info.SupportsAux,
            Detail = sameAsConfig && config!.Detail && info.SupportsDetail,
            Extra = sameAsConfig ? config!.Extra : new Dictionary<string, string>(),
        };
        var model = ModelZoo.Create(name, options);
        try
        {
            var problems = Compare(model);
            if (problems.Fits)
            {
                Load(model);
                return model;
            }
            // Not a fit as built: try the variants that could still be these weights (the class count the weights
            // show, the heads they hold), keeping the first that fits exactly.
            foreach (var variant in Variants(info, options, problems, classesGiven: numClasses is not null))
            {
                var candidate = ModelZoo.Create(name, variant);
                if (Compare(candidate).Fits)
                {
                    model.Dispose();
                    model = candidate;
                    Load(model);
                    return model;
                }
                candidate.Dispose();
            }
            throw Mismatch(model, problems);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private IEnumerable<ModelOptions> Variants(ModelInfo info, ModelOptions built, Problems problems, bool classesGiven)
    {
        var classCounts = new List<int> { built.NumClasses };
        if (!classesGiven && problems.CheckpointClasses is int k && k != built.NumClasses) classCounts.Insert(0, k);
        var heads = new List<(bool Aux, bool Detail)> { (built.Aux, built.Detail) };
        if (problems.Unexpected.Count > 0)
        {
            if (info.SupportsAux) heads.Add((true, false));
            if (info.SupportsDetail) heads.Add((false, true)); // no network takes both (STDC: one or the other)
        }
        foreach (var classes in classCounts)
            foreach (var (aux, detail) in heads.Distinct())
                if (classes != built.NumClasses || aux != built.Aux || detail != built.Detail)
                    yield return built with { NumClasses = classes, Aux = aux, Detail = detail };
    }

    /// <summary>
    /// Copies the weights into <paramref name="model"/> and puts it in evaluation mode. Every key must be present with
    /// the model's shape, and no other key may be present.
    /// </summary>
    /// <exception cref="CheckpointMismatchException">They do not fit (one line naming the counts and the first keys).</exception>
    public void LoadInto(SegmentationModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var problems = Compare(model);
        if (!problems.Fits) throw Mismatch(model, problems);
        Load(model);
    }

    /// <summary>
    /// Copies the weights into <paramref name="model"/> and puts it in evaluation mode. With
    /// <paramref name="headsOptional"/>, auxiliary and detail heads may differ between the file and the model: head
    /// weights the model lacks are skipped, and heads the file lacks keep the model's values (for example published
    /// weights trained with aux heads, fine-tuned without them). Every other key must be present with the model's shape.
    /// </summary>
    /// <exception cref="CheckpointMismatchException">They do not fit (one line naming the counts and the first keys).</exception>
    public void LoadInto(SegmentationModel model, bool headsOptional)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!headsOptional)
        {
            LoadInto(model);
            return;
        }
        var problems = Compare(model);
        if (problems.Fits)
        {
            Load(model);
            return;
        }
        if (problems.Shapes.Count > 0 || model.Info is not { } info || model.Options is not { } options) throw Mismatch(model, problems);
        // Which keys belong to heads: those a copy of the network built with (or without) them has in addition.
        var plain = KeysOf(info.Name, options with { Aux = false, Detail = false });
        var headKeys = model.state_dict().Keys.Where(k => !plain.Contains(k)).ToHashSet(StringComparer.Ordinal);
        if (problems.Unexpected.Count > 0)
        {
            if (info.SupportsAux) headKeys.UnionWith(KeysOf(info.Name, options with { Aux = true, Detail = false }).Where(k => !plain.Contains(k)));
            if (info.SupportsDetail) headKeys.UnionWith(KeysOf(info.Name, options with { Aux = false, Detail = true }).Where(k => !plain.Contains(k)));
        }
        if (!problems.Missing.All(headKeys.Contains) || !problems.Unexpected.All(headKeys.Contains)) throw Mismatch(model, problems);
        var own = model.state_dict();
        model.load_state_dict(_state.Where(kv => own.ContainsKey(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value), strict: false);
        model.eval();
    }

    private static HashSet<string> KeysOf(string name, ModelOptions options)
    {
        using var twin = ModelZoo.Create(name, options);
        return twin.state_dict().Keys.ToHashSet(StringComparer.Ordinal);
    }

    private void Load(SegmentationModel model)
    {
        model.load_state_dict(_state, strict: true);
        model.eval();
    }

    private sealed record Problems(List<string> Missing, List<string> Unexpected, List<(string Key, long[] Checkpoint, long[] Model)> Shapes,
        int OwnKeys, int? CheckpointClasses)
    {
        public bool Fits => Missing.Count == 0 && Unexpected.Count == 0 && Shapes.Count == 0;
    }

    private Problems Compare(SegmentationModel model)
    {
        var own = model.state_dict();
        var missing = own.Keys.Where(k => !_state.ContainsKey(k)).ToList();
        var unexpected = _state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var shapes = new List<(string, long[], long[])>();
        foreach (var (key, target) in own)
        {
            if (!_state.TryGetValue(key, out var value)) continue;
            long[] a = value.shape, b = target.shape;
            if (!a.SequenceEqual(b)) shapes.Add((key, a, b));
        }
        return new Problems(missing, unexpected, shapes, own.Count, ClassesFromShapes(shapes, model.NumClasses));
    }

    // When every mis-shaped tensor differs only in its first dimension, and there it is the model's class count, the
    // weights are the same network's with another class count: that count is their first dimension.
    private static int? ClassesFromShapes(List<(string Key, long[] Checkpoint, long[] Model)> shapes, int numClasses)
    {
        if (shapes.Count == 0) return null;
        long? found = null;
        foreach (var (_, ckpt, own) in shapes)
        {
            if (ckpt.Length != own.Length || ckpt.Length == 0 || own[0] != numClasses || !ckpt.Skip(1).SequenceEqual(own.Skip(1))) return null;
            if (found is not null && found != ckpt[0]) return null;
            found = ckpt[0];
        }
        return found is > 0 and <= int.MaxValue ? (int)found : null;
    }

    private CheckpointMismatchException Mismatch(SegmentationModel model, Problems p)
    {
        var network = $"{model.Info?.Name ?? model.Name}" +
                      (model.Options?.Encoder is { } e ? $" ({e}, {model.NumClasses} classes)" : $" ({model.NumClasses} classes)");
        var parts = new List<string>();
        int found = p.OwnKeys - p.Missing.Count;
        if (p.Missing.Count > 0) parts.Add($"{p.Missing.Count} of its {p.OwnKeys} keys missing ({List(p.Missing)})");
        if (p.Unexpected.Count > 0) parts.Add($"{p.Unexpected.Count} unexpected ({List(p.Unexpected)})");
        if (p.Shapes.Count > 0)
            parts.Add($"{p.Shapes.Count} with another shape ({List(p.Shapes.Select(s => $"{s.Key}: file {Shape(s.Checkpoint)}, model {Shape(s.Model)}").ToList(), separator: "; ")})");
        var message = $"{FilePath}: the weights do not fit {network}: " + string.Join("; ", parts);
        if (found == 0) message += "; no key in common, so it is probably another network's checkpoint";
        if (p.CheckpointClasses is int k) message += string.Create(CultureInfo.InvariantCulture, $"; the checkpoint was trained for {k} classes");
        if (ModelName is { } trained && !string.Equals(trained, model.Info?.Name, StringComparison.OrdinalIgnoreCase))
            message += $"; its training config names the network '{trained}'";
        return new CheckpointMismatchException(message, FilePath, p.Missing, p.Unexpected, p.Shapes.Select(s => s.Key).ToList(), p.CheckpointClasses);
    }

    private static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";

    private static string List(IReadOnlyList<string> items, int shown = 3, string separator = ", ") =>
        string.Join(separator, items.Take(shown)) + (items.Count > shown ? $"{separator}... {items.Count - shown} more" : "");

    /// <summary>Frees the weights.</summary>
    public void Dispose()
    {
        foreach (var t in _state.Values) t.Dispose();
        _state.Clear();
        foreach (var t in _trainingTensors) t.Dispose();
        _trainingTensors.Clear();
    }
}

/// <summary>
/// A checkpoint's weights do not fit a network. The message is one line: the file, the network, how many keys are
/// missing, unexpected or of another shape (with the first few named), and what the checkpoint seems to be instead
/// (another class count, another network).
/// </summary>
public sealed class CheckpointMismatchException : IOException
{
    /// <summary>Creates the exception.</summary>
    public CheckpointMismatchException(string message, string filePath, IReadOnlyList<string> missingKeys,
        IReadOnlyList<string> unexpectedKeys, IReadOnlyList<string> shapeMismatchKeys, int? checkpointClasses)
        : base(message)
    {
        FilePath = filePath;
        MissingKeys = missingKeys;
        UnexpectedKeys = unexpectedKeys;
        ShapeMismatchKeys = shapeMismatchKeys;
        CheckpointClasses = checkpointClasses;
    }

    /// <summary>The checkpoint file.</summary>
    public string FilePath { get; }

    /// <summary>Keys the network has and the checkpoint lacks.</summary>
    public IReadOnlyList<string> MissingKeys { get; }

    /// <summary>Keys the checkpoint has and the network lacks.</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }

    /// <summary>Keys present in both with different shapes.</summary>
    public IReadOnlyList<string> ShapeMismatchKeys { get; }

    /// <summary>The class count the checkpoint was trained for, when the shapes show it (only the class dimension differs).</summary>
    public int? CheckpointClasses { get; }
}
