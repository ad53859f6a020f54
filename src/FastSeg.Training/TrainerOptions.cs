using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FastSeg.Training;

/// <summary>The optimiser of a training run (the reference's <c>optimizer_type</c>).</summary>
public enum OptimizerKind
{
    /// <summary>SGD with momentum and weight decay, lr = base_lr · world size.</summary>
    [OptionName("sgd")] Sgd,
    /// <summary>Adam with library defaults, lr = 0.1 · base_lr · world size.</summary>
    [OptionName("adam")] Adam,
    /// <summary>AdamW with library defaults (weight decay 0.01), lr = 0.1 · base_lr · world size.</summary>
    [OptionName("adamw")] AdamW,
}

/// <summary>The learning-rate policy, applied per iteration (the reference's <c>lr_policy</c>).</summary>
public enum LrPolicy
{
    /// <summary>OneCycleLR(max_lr, total_itrs, pct_start = warmup_epochs / total_epoch): cosine warm-up then cosine decay.</summary>
    [OptionName("cos_warmup")] CosWarmup,
    /// <summary>Polynomial decay (power <see cref="TrainerOptions.PolyPower"/>), after an optional linear warm-up of warmup_epochs (not in the reference).</summary>
    [OptionName("poly")] Poly,
    /// <summary>OneCycleLR with pct_start = 0 and linear annealing: a straight line from lr down to lr/25/1e4.</summary>
    [OptionName("linear")] Linear,
    /// <summary>StepLR(step_size iterations, γ = 0.1); step_size must be given (the reference defines none).</summary>
    [OptionName("step")] Step,
}

/// <summary>The segmentation criterion (the reference's <c>loss_type</c>).</summary>
public enum LossKind
{
    /// <summary>Cross-entropy with optional class weights.</summary>
    [OptionName("ce")] CrossEntropy,
    /// <summary>Online hard example mining cross-entropy (class weights are not used, as in the reference).</summary>
    [OptionName("ohem")] Ohem,
}

/// <summary>Names an enum member or an option in configuration files and on the command line.</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class OptionNameAttribute(string name) : Attribute
{
    /// <summary>The name (the reference's spelling, snake_case).</summary>
    public string Name { get; } = name;

    /// <summary>One line on what the option does, for option listings (<c>fastseg train --list-options</c>).</summary>
    public string? Help { get; init; }
}

/// <summary>An invalid training option: <see cref="Option"/> names it and the message lists what is accepted.</summary>
public sealed class TrainerOptionException(string option, string message) : ArgumentException($"option '{option}': {message}")
{
    /// <summary>The option's name as it was given.</summary>
    public string Option { get; } = option;
}

/// <summary>
/// Every option of a training run. Keys (for JSON files and overrides) are the reference's config names
/// (zh320 <c>configs/base_config.py</c>: <c>total_epoch</c>, <c>base_lr</c>, <c>train_bs</c>, …); the property names
/// are accepted too, in any case, with '-' or '_' between words. Defaults are the reference's <c>BaseConfig</c>
/// except where its value is a placeholder (dataset None, num_class −1), where <c>MyConfig</c>'s is used
/// ('cityscapes', 19). Options marked "not in the reference" are FastSeg additions.
/// </summary>
/// <remarks>
/// Differences kept on purpose: <c>lr</c> scales with the number of processes (the reference multiplies by the GPU
/// count, which is 0 on a CPU machine); <c>randscale</c> is one value x (→ [−x, x]) or two values [lo, hi], not a
/// string split into characters; <c>step_size</c> exists (the reference's 'step' policy reads it but no config defines
/// it); <c>v_flip</c> is applied (the reference accepts and ignores it); the test, predict and
/// export options are not part of training and are left out.
/// </remarks>
public sealed record TrainerOptions
{
    // ---- dataset ----
    /// <summary>Dataset type; only "cityscapes" is built by the trainer (pass datasets to it for others).</summary>
    [OptionName("dataset", Help = "dataset type; the trainer builds cityscapes itself")] public string Dataset { get; init; } = "cityscapes";
    /// <summary>Dataset root (holding leftImg8bit and gtFine). Required unless datasets are passed to the trainer.</summary>
    [OptionName("data_root", Help = "dataset folder (leftImg8bit/ and gtFine/)")] public string? DataRoot { get; init; }
    /// <summary>Number of classes.</summary>
    [OptionName("num_class", Help = "number of classes")] public int NumClasses { get; init; } = 19;
    /// <summary>Label ignored by losses and metrics.</summary>
    [OptionName("ignore_index", Help = "label value left out of losses and metrics")] public int IgnoreIndex { get; init; } = 255;

    // ---- model ----
    /// <summary>Zoo network name (e.g. "fastscnn"). Required unless a model is passed to the trainer.</summary>
    [OptionName("model", Help = "zoo network (fastscnn, ddrnet, ...; fastseg models list)")] public string? Model { get; init; }
    /// <summary>Encoder or variant of the network; null for its default.</summary>
    [OptionName("encoder", Help = "encoder or variant of the network; null: its default")] public string? Encoder { get; init; }
    /// <summary>Decoder of an SMP network (<c>model = "smp"</c>): deeplabv3, deeplabv3p, fpn, linknet, manet, pan, pspnet, unet, unetpp.</summary>
    [OptionName("decoder", Help = "decoder of model=smp (deeplabv3, fpn, unet, ...)")] public string? Decoder { get; init; }
    /// <summary>
    /// The network's own architecture options (<c>fastseg models describe NAME</c> lists them), as
    /// <c>key=value</c> pairs separated by <c>;</c>, e.g. <c>act_type=prelu;dilations=1,2,4</c>; null for the defaults.
    /// Not in the reference (its configs cannot set them).
    /// </summary>
    [OptionName("model_options", Help = "network options as key=value;key=value (fastseg models describe NAME); null: defaults")] public string? ModelOptions { get; init; }
    /// <summary>
    /// ImageNet weights for the network's encoder (ResNet-18 to 152, MobileNetV2): "imagenet" (torchvision's, fetched
    /// into the weights cache on first use) or null. The reference always starts those encoders from ImageNet; the
    /// default here is null so that training downloads nothing unless asked.
    /// </summary>
    [OptionName("encoder_weights", Help = "imagenet: torchvision weights for the encoder; null: none")] public string? EncoderWeights { get; init; }
    /// <summary>
    /// Initial weights of the whole network: a published tag of it ("cityscapes", fetched into the weights cache) or a
    /// .pth file. Head weights the run does not train are skipped; a resumed checkpoint replaces them. Not in the reference.
    /// </summary>
    [OptionName("weights", Help = "initial weights: a published tag (cityscapes) or a .pth file")] public string? Weights { get; init; }

    // ---- detail head (STDC) ----
    /// <summary>Train STDC's detail head with the detail loss.</summary>
    [OptionName("use_detail_head", Help = "train STDC's detail head with the detail loss")] public bool UseDetailHead { get; init; }
    /// <summary>Threshold that makes the fused Laplacian response a binary boundary target.</summary>
    [OptionName("detail_thrs", Help = "threshold of STDC's boundary targets")] public double DetailThreshold { get; init; } = 0.1;
    /// <summary>Weight of the detail loss in the total.</summary>
    [OptionName("detail_loss_coef", Help = "weight of the detail loss in the total")] public double DetailLossCoef { get; init; } = 1.0;
    /// <summary>Weight of Dice inside the detail loss.</summary>
    [OptionName("dice_loss_coef", Help = "weight of Dice inside the detail loss")] public double DiceLossCoef { get; init; } = 1.0;
    /// <summary>Weight of BCE inside the detail loss.</summary>
    [OptionName("bce_loss_coef", Help = "weight of BCE inside the detail loss")] public double BceLossCoef { get; init; } = 1.0;
    /// <summary>Dice on sigmoid probabilities (true) or on raw logits as the reference (false). Not in the reference.</summary>
    [OptionName("dice_on_probabilities", Help = "Dice on sigmoid probabilities (false: on logits, as the reference)")] public bool DiceOnProbabilities { get; init; } = true;

    // ---- training ----
    /// <summary>Epochs.</summary>
    [OptionName("total_epoch", Help = "epochs to train")] public int TotalEpochs { get; init; } = 200;
    /// <summary>Base learning rate (see <see cref="OptimizerKind"/> for how the optimiser's lr is derived).</summary>
    [OptionName("base_lr", Help = "base learning rate (sgd: lr = base_lr x processes; adam/adamw: 0.1 x that)")] public double BaseLr { get; init; } = 0.01;
    /// <summary>Training batch size per process.</summary>
    [OptionName("train_bs", Help = "training batch size per process")] public int TrainBatchSize { get; init; } = 16;
    /// <summary>Train the auxiliary heads (deep supervision).</summary>
    [OptionName("use_aux", Help = "train the auxiliary heads (deep supervision)")] public bool UseAux { get; init; }
    /// <summary>One coefficient per auxiliary head; null for 1 each.</summary>
    [OptionName("aux_coef", Help = "one loss weight per auxiliary head; null: 1 each")] public double[]? AuxCoef { get; init; }

    // ---- validation ----
    /// <summary>Validation batch size per process.</summary>
    [OptionName("val_bs", Help = "validation batch size per process")] public int ValBatchSize { get; init; } = 16;
    /// <summary>First epoch (0-based) after which validation runs.</summary>
    [OptionName("begin_val_epoch", Help = "first epoch (0-based) after which validation runs")] public int BeginValEpoch { get; init; }
    /// <summary>Validate after epochs e with e % val_interval == 0.</summary>
    [OptionName("val_interval", Help = "validate every this many epochs")] public int ValInterval { get; init; } = 1;
    /// <summary>After training, reload best.pth and validate it (the reference's val_best). Not a reference option.</summary>
    [OptionName("val_best", Help = "after training, reload best.pth and validate it")] public bool ValidateBestAtEnd { get; init; } = true;

    // ---- loss ----
    /// <summary>ce or ohem.</summary>
    [OptionName("loss_type", Help = "segmentation loss: ce or ohem")] public LossKind LossType { get; init; } = LossKind.Ohem;
    /// <summary>Per-class weights of the ce loss (one per class), or null.</summary>
    [OptionName("class_weights", Help = "per-class weights of ce (one per class); null: none")] public double[]? ClassWeights { get; init; }
    /// <summary>OHEM probability threshold (pixels whose true-class probability is below it are hard).</summary>
    [OptionName("ohem_thrs", Help = "OHEM: pixels with true-class probability below this are hard")] public double OhemThreshold { get; init; } = 0.7;
    /// <summary>Reduction of the ce loss: mean or sum.</summary>
    [OptionName("reduction", Help = "reduction of ce: mean or sum")] public string Reduction { get; init; } = "mean";

    // ---- scheduler ----
    /// <summary>cos_warmup, poly, linear or step.</summary>
    [OptionName("lr_policy", Help = "learning-rate schedule: cos_warmup, poly, linear or step")] public LrPolicy LrPolicy { get; init; } = LrPolicy.CosWarmup;
    /// <summary>Warm-up epochs of cos_warmup (and poly).</summary>
    [OptionName("warmup_epochs", Help = "warm-up epochs of cos_warmup and poly")] public int WarmupEpochs { get; init; } = 3;
    /// <summary>Iterations between decays of the step policy (required for it). The reference reads it but never defines it.</summary>
    [OptionName("step_size", Help = "step policy: iterations between decays (x0.1)")] public int? StepSize { get; init; }
    /// <summary>Power of the poly policy. Not in the reference.</summary>
    [OptionName("poly_power", Help = "power of the poly decay")] public double PolyPower { get; init; } = 0.9;
    /// <summary>Start factor of poly's linear warm-up. Not in the reference.</summary>
    [OptionName("warmup_start_factor", Help = "poly: lr factor at the start of the warm-up")] public double WarmupStartFactor { get; init; } = 0.1;

    // ---- optimizer ----
    /// <summary>sgd, adam or adamw.</summary>
    [OptionName("optimizer_type", Help = "sgd, adam or adamw")] public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;
    /// <summary>SGD momentum (cycled by OneCycleLR policies, as in the reference).</summary>
    [OptionName("momentum", Help = "SGD momentum")] public double Momentum { get; init; } = 0.9;
    /// <summary>SGD weight decay.</summary>
    [OptionName("weight_decay", Help = "SGD weight decay")] public double WeightDecay { get; init; } = 1e-4;

    // ---- monitoring ----
    /// <summary>Write last.pth every epoch and best.pth on improvement.</summary>
    [OptionName("save_ckpt", Help = "write last.pth every epoch and best.pth on improvement")] public bool SaveCheckpoints { get; init; } = true;
    /// <summary>Folder of checkpoints, config.json, the metrics log and the text log.</summary>
    [OptionName("save_dir", Help = "folder of checkpoints, config.json, metrics.jsonl and logs")] public string SaveDir { get; init; } = "save";
    /// <summary>TensorBoard logging: event files in {save_dir}/tb (train/loss, train/lr, val/mIoU, per-class IoU).</summary>
    [OptionName("use_tb", Help = "write TensorBoard event files to {save_dir}/tb")] public bool UseTensorBoard { get; init; } = true;
    /// <summary>TensorBoard folder; null for {save_dir}/tb.</summary>
    [OptionName("tb_log_dir", Help = "TensorBoard folder; null: {save_dir}/tb")] public string? TbLogDir { get; init; }
    /// <summary>Name of the text log ({save_dir}/{logger_name}.log); null writes none.</summary>
    [OptionName("logger_name", Help = "text log {save_dir}/{logger_name}.log; null: none")] public string? LoggerName { get; init; }
    /// <summary>Log a line every this many iterations (0: never). Not in the reference (it uses a progress bar).</summary>
    [OptionName("log_interval", Help = "log a line every this many iterations (0: never)")] public int LogInterval { get; init; } = 10;

    // ---- run ----
    /// <summary>Mixed precision: bfloat16 autocast on the CPU; float16 autocast with a GradScaler on CUDA.</summary>
    [OptionName("amp_training", Help = "mixed precision (bfloat16 autocast on the CPU, float16 on CUDA)")] public bool AmpTraining { get; init; }
    /// <summary>Resume optimiser, scheduler, epoch and iteration from the checkpoint (otherwise only weights and best score).</summary>
    [OptionName("resume_training", Help = "also restore optimiser, scheduler and epoch from the checkpoint")] public bool ResumeTraining { get; init; } = true;
    /// <summary>Load the checkpoint at load_ckpt_path when it exists.</summary>
    [OptionName("load_ckpt", Help = "load load_ckpt_path when it exists")] public bool LoadCheckpoint { get; init; } = true;
    /// <summary>Checkpoint to load; null for {save_dir}/last.pth.</summary>
    [OptionName("load_ckpt_path", Help = "checkpoint to load; null: {save_dir}/last.pth")] public string? LoadCheckpointPath { get; init; }
    /// <summary>Data loader worker threads.</summary>
    [OptionName("base_workers", Help = "data loader worker threads")] public int BaseWorkers { get; init; } = 8;
    /// <summary>Seed of initialisation, shuffling, augmentation and dropout.</summary>
    [OptionName("random_seed", Help = "seed of initialisation, shuffling, augmentation and dropout")] public long RandomSeed { get; init; } = 1;
    /// <summary>Validate an exponential moving average of the weights (ramp d = iteration / total).</summary>
    [OptionName("use_ema", Help = "validate an exponential moving average of the weights")] public bool UseEma { get; init; }
    /// <summary>auto, cpu or cuda. Not in the reference.</summary>
    [OptionName("device", Help = "auto, cpu or cuda")] public string Device { get; init; } = "auto";

    // ---- augmentation ----
    /// <summary>Square crop size (crop_h and crop_w default to it).</summary>
    [OptionName("crop_size", Help = "square training crop (crop_h and crop_w default to it)")] public int CropSize { get; init; } = 512;
    /// <summary>Crop height; null for crop_size.</summary>
    [OptionName("crop_h", Help = "training crop height; null: crop_size")] public int? CropH { get; init; }
    /// <summary>Crop width; null for crop_size.</summary>
    [OptionName("crop_w", Help = "training crop width; null: crop_size")] public int? CropW { get; init; }
    /// <summary>Fixed rescale of every image (training and validation).</summary>
    [OptionName("scale", Help = "fixed rescale of every image (training and validation)")] public double Scale { get; init; } = 1.0;
    /// <summary>Random scale limit: one value x for [−x, x] or two values [lo, hi]; the factor is 1 + U(lo, hi), applied with p = 0.5.</summary>
    [OptionName("randscale", Help = "random scale: x for [-x, x] or lo,hi; factor 1 + U(lo, hi), p = 0.5")] public double[] RandScale { get; init; } = [0.0];
    /// <summary>Colour jitter brightness.</summary>
    [OptionName("brightness", Help = "colour jitter: brightness")] public double Brightness { get; init; }
    /// <summary>Colour jitter contrast.</summary>
    [OptionName("contrast", Help = "colour jitter: contrast")] public double Contrast { get; init; }
    /// <summary>Colour jitter saturation.</summary>
    [OptionName("saturation", Help = "colour jitter: saturation")] public double Saturation { get; init; }
    /// <summary>Horizontal flip probability.</summary>
    [OptionName("h_flip", Help = "horizontal flip probability")] public double HFlip { get; init; }
    /// <summary>Vertical flip probability (the reference accepts it and never applies it; here it is applied after h_flip).</summary>
    [OptionName("v_flip", Help = "vertical flip probability (unused by the reference)")] public double VFlip { get; init; }

    // ---- distributed ----
    /// <summary>Synchronised batch norm on several processes: every batch norm normalises with the global batch's
    /// statistics (SyncBatchNorm); no effect on one process.</summary>
    [OptionName("synBN", Help = "synchronised batch norm across processes (global-batch statistics); no effect on one process")] public bool SyncBatchNorm { get; init; } = true;

    // ---- knowledge distillation (the teacher is built by FastSeg.Distillation and passed as a hook) ----
    /// <summary>Distillation is on: the trainer then requires an <see cref="ITrainingLossHook"/> (a DistillationHook).</summary>
    [OptionName("kd_training", Help = "knowledge distillation from a teacher")] public bool KdTraining { get; init; }
    /// <summary>Teacher checkpoint (read by whoever builds the hook).</summary>
    [OptionName("teacher_ckpt", Help = "teacher checkpoint (.pth)")] public string TeacherCheckpoint { get; init; } = "";
    /// <summary>Teacher network name.</summary>
    [OptionName("teacher_model", Help = "teacher network")] public string TeacherModel { get; init; } = "smp";
    /// <summary>Teacher encoder.</summary>
    [OptionName("teacher_encoder", Help = "teacher encoder; null: its default")] public string? TeacherEncoder { get; init; }
    /// <summary>Teacher decoder.</summary>
    [OptionName("teacher_decoder", Help = "teacher decoder (for teacher_model=smp)")] public string? TeacherDecoder { get; init; }
    /// <summary>kl_div or mse.</summary>
    [OptionName("kd_loss_type", Help = "distillation loss: kl_div or mse")] public string KdLossType { get; init; } = "kl_div";
    /// <summary>Weight of the distillation loss.</summary>
    [OptionName("kd_loss_coefficient", Help = "weight of the distillation loss")] public double KdLossCoefficient { get; init; } = 1.0;
    /// <summary>Distillation temperature.</summary>
    [OptionName("kd_temperature", Help = "distillation temperature")] public double KdTemperature { get; init; } = 4.0;

    // ---- derived ----
    /// <summary>crop_h, or crop_size.</summary>
    public int EffectiveCropHeight => CropH ?? CropSize;
    /// <summary>crop_w, or crop_size.</summary>
    public int EffectiveCropWidth => CropW ?? CropSize;
    /// <summary>load_ckpt_path, or {save_dir}/last.pth.</summary>
    public string EffectiveCheckpointPath => LoadCheckpointPath ?? Path.Combine(SaveDir, "last.pth");
    /// <summary>The random-scale range (lo, hi).</summary>
    public (double Low, double High) RandScaleRange => RandScale.Length == 1 ? (-Math.Abs(RandScale[0]), Math.Abs(RandScale[0])) : (RandScale[0], RandScale[1]);

    /// <summary>The <c>device</c> option as a torch device: cpu; cuda (an error without CUDA); auto: CUDA when available, else the CPU.</summary>
    public FastSeg.Torch.torch.Device ResolveDevice() => Device switch
    {
        "cpu" => FastSeg.Torch.torch.CPU,
        "cuda" => FastSeg.Torch.torch.cuda.is_available() ? FastSeg.Torch.torch.CUDA : throw new TrainerOptionException("device", "cuda was asked for but CUDA is not available"),
        _ => FastSeg.Torch.torch.cuda.is_available() ? FastSeg.Torch.torch.CUDA : FastSeg.Torch.torch.CPU,
    };

    /// <summary>Starts a fluent builder from the defaults.</summary>
    public static TrainerOptionsBuilder Builder() => new(new TrainerOptions());

    /// <summary>A fluent builder starting from these options.</summary>
    public TrainerOptionsBuilder ToBuilder() => new(this);

    // ---- option table ----------------------------------------------------------------------------------------------

    private sealed record Spec(string Key, PropertyInfo Property);

    private static readonly Lazy<Spec[]> Specs = new(() => typeof(TrainerOptions)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Select(p => (p, a: p.GetCustomAttribute<OptionNameAttribute>()))
        .Where(x => x.a is not null)
        .Select(x => new Spec(x.a!.Name, x.p))
        .ToArray());

    /// <summary>The option keys, in declaration order.</summary>
    public static IReadOnlyList<string> Keys => Specs.Value.Select(s => s.Key).ToArray();

    /// <summary>Every option with its default, as written in an override (<c>null</c>, <c>cos_warmup</c>, <c>0,0.4</c>), and one line on what it does.</summary>
    public static IReadOnlyList<TrainerOptionInfo> Describe()
    {
        var defaults = new TrainerOptions();
        return Specs.Value.Select(s => new TrainerOptionInfo(s.Key, ValueText(s.Property.GetValue(defaults)),
            s.Property.GetCustomAttribute<OptionNameAttribute>()!.Help ?? "")).ToArray();
    }

    private static string ValueText(object? value) => value switch
    {
        null => "null",
        "" => "\"\"",
        Enum e => EnumName(e),
        bool b => b ? "true" : "false",
        double[] d => string.Join(",", d.Select(x => x.ToString(CultureInfo.InvariantCulture))),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string Normalize(string key) => key.TrimStart('-').Replace("_", "").Replace("-", "").ToLowerInvariant();

    private static Spec Find(string key)
    {
        var n = Normalize(key);
        var spec = Specs.Value.FirstOrDefault(s => Normalize(s.Key) == n || Normalize(s.Property.Name) == n);
        if (spec is null)
        {
            var near = Specs.Value.Where(s => Normalize(s.Key).Contains(n) || n.Contains(Normalize(s.Key))).Select(s => s.Key).Take(3).ToList();
            var hint = near.Count > 0 ? $"did you mean {string.Join(" or ", near)}? " : "";
            throw new TrainerOptionException(key, $"unknown option; {hint}valid options: {string.Join(", ", Keys)}");
        }
        return spec;
    }

    /// <summary>The options with <paramref name="key"/> set from text ("0.01", "true", "cos_warmup", "1,0.4", "null").</summary>
    public TrainerOptions With(string key, string? value)
    {
        var spec = Find(key);
        var copy = this with { };
        spec.Property.SetValue(copy, ParseValue(spec, key, value));
        return copy;
    }

    /// <summary>
    /// Applies overrides given as <c>key=value</c> strings and/or <c>--key value</c> pairs (a <c>--flag</c> with no value
    /// before the next <c>--</c> or the end sets a boolean option to true), then validates.
    /// </summary>
    public TrainerOptions WithOverrides(IEnumerable<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var list = args.ToList();
        var result = this;
        for (int i = 0; i < list.Count; i++)
        {
            var a = list[i];
            int eq = a.IndexOf('=');
            if (eq > 0)
            {
                result = result.With(a[..eq], a[(eq + 1)..]);
            }
            else if (a.StartsWith("--", StringComparison.Ordinal))
            {
                var spec = Find(a);
                bool hasValue = i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal);
                if (!hasValue && spec.Property.PropertyType != typeof(bool))
                    throw new TrainerOptionException(a, "needs a value");
                result = result.With(a, hasValue ? list[++i] : "true");
            }
            else
            {
                throw new TrainerOptionException(a, "expected key=value or --key value");
            }
        }
        result.Validate();
        return result;
    }

    /// <summary>Reads options from a JSON object of option keys (missing keys keep their defaults), then validates.</summary>
    public static TrainerOptions LoadJson(string path) => FromJson(File.ReadAllText(path), path);

    /// <summary>Options from JSON text (see <see cref="LoadJson"/>); <paramref name="origin"/> names the source in errors.</summary>
    public static TrainerOptions FromJson(string json, string origin = "json")
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new InvalidDataException($"{origin}: not valid JSON: {e.Message}", e); }
        if (root is not JsonObject obj) throw new InvalidDataException($"{origin}: expected a JSON object of options");
        var result = new TrainerOptions();
        foreach (var (key, node) in obj)
        {
            string? text = node switch
            {
                null => null,
                JsonArray arr => string.Join(",", arr.Select(e => e?.ToJsonString() ?? "null")),
                JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
                _ => node.ToJsonString(),
            };
            result = result.With(key, text);
        }
        result.Validate();
        return result;
    }

    /// <summary>All options as a JSON object with the reference's keys (written to {save_dir}/config.json).</summary>
    public string ToJson()
    {
        var obj = new JsonObject();
        foreach (var s in Specs.Value)
        {
            var v = s.Property.GetValue(this);
            obj[s.Key] = v switch
            {
                null => null,
                Enum e => JsonValue.Create(EnumName(e)),
                double[] d => new JsonArray(d.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
                _ => JsonSerializer.SerializeToNode(v, v.GetType()),
            };
        }
        return obj.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>The configuration name of an enum value (e.g. "cos_warmup").</summary>
    public static string EnumName(Enum value) =>
        value.GetType().GetField(value.ToString())?.GetCustomAttribute<OptionNameAttribute>()?.Name ?? value.ToString().ToLowerInvariant();

    private static object? ParseValue(Spec spec, string key, string? text)
    {
        var type = spec.Property.PropertyType;
        var underlying = Nullable.GetUnderlyingType(type);
        bool nullable = underlying is not null || (!type.IsValueType && new NullabilityInfoContext().Create(spec.Property).WriteState == NullabilityState.Nullable);
        var t = underlying ?? type;
        var c = CultureInfo.InvariantCulture;
        if (text is null || text.Trim().Equals("null", StringComparison.OrdinalIgnoreCase) || text.Trim().Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            if (nullable) return null;
            throw new TrainerOptionException(key, $"cannot be null (expected {DescribeType(t)})");
        }
        text = text.Trim();
        try
        {
            if (t == typeof(string)) return text;
            if (t == typeof(int)) return int.Parse(text, NumberStyles.Integer, c);
            if (t == typeof(long)) return long.Parse(text, NumberStyles.Integer, c);
            if (t == typeof(double)) return double.Parse(text, NumberStyles.Float, c);
            if (t == typeof(bool))
            {
                return text.ToLowerInvariant() switch
                {
                    "true" or "1" or "yes" or "on" => true,
                    "false" or "0" or "no" or "off" => false,
                    _ => throw new FormatException(),
                };
            }
            if (t == typeof(double[]))
            {
                var parts = text.Trim('[', ']', '(', ')').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                return parts.Select(p => double.Parse(p, NumberStyles.Float, c)).ToArray();
            }
            if (t.IsEnum)
            {
                foreach (var f in t.GetFields(BindingFlags.Public | BindingFlags.Static))
                {
                    var name = f.GetCustomAttribute<OptionNameAttribute>()?.Name ?? f.Name;
                    if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase) || string.Equals(f.Name, text, StringComparison.OrdinalIgnoreCase))
                        return f.GetValue(null);
                }
                throw new FormatException();
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new TrainerOptionException(key, $"'{text}' is not {DescribeType(t)}");
        }
        throw new TrainerOptionException(key, $"unsupported option type {t.Name}");
    }

    private static string DescribeType(Type t)
    {
        if (t.IsEnum)
            return "one of " + string.Join(", ", t.GetFields(BindingFlags.Public | BindingFlags.Static)
                .Select(f => f.GetCustomAttribute<OptionNameAttribute>()?.Name ?? f.Name));
        if (t == typeof(double[])) return "a list of numbers (e.g. 1,0.4)";
        if (t == typeof(bool)) return "true or false";
        if (t == typeof(int) || t == typeof(long)) return "an integer";
        if (t == typeof(double)) return "a number";
        return "a string";
    }

    /// <summary>
    /// Builds the network these options name (<c>model</c>, or <c>model = "smp"</c> with <c>decoder</c>; <c>encoder</c>,
    /// <c>num_class</c>, <c>use_aux</c>, <c>use_detail_head</c>), with fresh weights. Errors name the option at fault.
    /// </summary>
    public FastSeg.Models.SegmentationModel CreateModel()
    {
        if (Model is null) throw new TrainerOptionException("model", "no network given; set model (e.g. fastscnn) or pass a model");
        string name;
        try
        {
            name = FastSeg.Models.Zoo.ModelZoo.ResolveName(Model, Decoder);
        }
        catch (ArgumentException e)
        {
            throw new TrainerOptionException("decoder", e.Message);
        }
        try
        {
            return FastSeg.Models.Zoo.ModelZoo.Create(name, ToModelOptions());
        }
        catch (ArgumentException e) when (e is not TrainerOptionException)
        {
            bool aboutModelOptions = ParseModelOptions(ModelOptions).Keys.Any(k => e.Message.Contains($"'{k}'", StringComparison.Ordinal) || e.Message.Contains(k + " ", StringComparison.Ordinal));
            throw new TrainerOptionException(aboutModelOptions ? "model_options"
                : Encoder is not null && e.Message.Contains("encoder", StringComparison.Ordinal) ? "encoder" : "model", e.Message);
        }
    }

    /// <summary>The zoo's build options these options describe: <c>encoder</c>, <c>num_class</c>, <c>use_aux</c>, <c>use_detail_head</c>, <c>model_options</c>.</summary>
    public FastSeg.Models.Zoo.ModelOptions ToModelOptions() => new()
    {
        Encoder = Encoder,
        NumClasses = NumClasses,
        Aux = UseAux,
        Detail = UseDetailHead,
        Extra = ParseModelOptions(ModelOptions),
    };

    /// <summary>The pairs of a <c>model_options</c> text (<see cref="FastSeg.Models.Zoo.ModelOptions.ParseExtra"/>).</summary>
    /// <exception cref="TrainerOptionException">A pair without '=' or a key given twice.</exception>
    public static IReadOnlyDictionary<string, string> ParseModelOptions(string? text)
    {
        try
        {
            return FastSeg.Models.Zoo.ModelOptions.ParseExtra(text);
        }
        catch (FormatException e)
        {
            throw new TrainerOptionException("model_options", e.Message);
        }
    }

    /// <summary>Checks values and combinations; throws <see cref="TrainerOptionException"/> naming the bad option.</summary>
    public void Validate()
    {
        static void Require(bool ok, string key, string message)
        {
            if (!ok) throw new TrainerOptionException(key, message);
        }
        Require(NumClasses >= 1, "num_class", $"must be at least 1, got {NumClasses}");
        Require(TotalEpochs >= 1, "total_epoch", $"must be at least 1, got {TotalEpochs}");
        Require(BaseLr > 0, "base_lr", $"must be positive, got {BaseLr}");
        Require(TrainBatchSize >= 1, "train_bs", $"must be at least 1, got {TrainBatchSize}");
        Require(ValBatchSize >= 1, "val_bs", $"must be at least 1, got {ValBatchSize}");
        Require(ValInterval >= 1, "val_interval", $"must be at least 1, got {ValInterval}");
        Require(BeginValEpoch >= 0, "begin_val_epoch", $"cannot be negative, got {BeginValEpoch}");
        Require(OhemThreshold > 0 && OhemThreshold < 1, "ohem_thrs", $"must be in (0, 1), got {OhemThreshold}");
        Require(Reduction is "mean" or "sum", "reduction", $"must be one of mean, sum; got '{Reduction}'");
        Require(WarmupEpochs >= 0, "warmup_epochs", $"cannot be negative, got {WarmupEpochs}");
        if (LrPolicy == LrPolicy.CosWarmup)
            Require(WarmupEpochs < TotalEpochs, "warmup_epochs", $"must be below total_epoch ({TotalEpochs}) for cos_warmup, got {WarmupEpochs}");
        if (LrPolicy == LrPolicy.Step)
            Require(StepSize is >= 1, "step_size", "the step policy needs step_size (iterations between decays, at least 1)");
        if (LrPolicy == LrPolicy.Poly)
            Require(WarmupStartFactor > 0 && WarmupStartFactor <= 1, "warmup_start_factor", $"must be in (0, 1], got {WarmupStartFactor}");
        Require(Momentum >= 0, "momentum", $"cannot be negative, got {Momentum}");
        Require(WeightDecay >= 0, "weight_decay", $"cannot be negative, got {WeightDecay}");
        Require(ClassWeights is null || ClassWeights.Length == NumClasses, "class_weights",
            $"needs one weight per class ({NumClasses}), got {ClassWeights?.Length}");
        Require(AuxCoef is null || AuxCoef.Length > 0, "aux_coef", "must hold at least one coefficient or be null");
        Require(!(UseAux && UseDetailHead), "use_detail_head", "cannot be combined with use_aux (the reference trains one or the other)");
        Require(EffectiveCropHeight >= 1 && EffectiveCropWidth >= 1, "crop_size", $"must be positive, got {EffectiveCropHeight}x{EffectiveCropWidth}");
        Require(Scale > 0, "scale", $"must be positive, got {Scale}");
        Require(RandScale.Length is 1 or 2, "randscale", $"needs one or two values, got {RandScale.Length}");
        Require(RandScaleRange.Low > -1 && RandScaleRange.Low <= RandScaleRange.High, "randscale",
            $"needs -1 < lo <= hi, got [{RandScaleRange.Low}, {RandScaleRange.High}]");
        Require(HFlip is >= 0 and <= 1, "h_flip", $"must be a probability, got {HFlip}");
        Require(VFlip is >= 0 and <= 1, "v_flip", $"must be a probability, got {VFlip}");
        Require(BaseWorkers >= 0, "base_workers", $"cannot be negative, got {BaseWorkers}");
        Require(LogInterval >= 0, "log_interval", $"cannot be negative, got {LogInterval}");
        Require(Device is "auto" or "cpu" or "cuda", "device", $"must be one of auto, cpu, cuda; got '{Device}'");
        Require(Dataset.Equals("cityscapes", StringComparison.OrdinalIgnoreCase), "dataset",
            $"the trainer builds only cityscapes; got '{Dataset}' (pass datasets to the Trainer for other layouts)");
        Require(KdLossType is "kl_div" or "mse", "kd_loss_type", $"must be one of kl_div, mse; got '{KdLossType}'");
        Require(EncoderWeights is null || EncoderWeights.Equals("imagenet", StringComparison.OrdinalIgnoreCase), "encoder_weights",
            $"must be imagenet or none; got '{EncoderWeights}'");
        ParseModelOptions(ModelOptions);
        Require(EncoderWeights is null || Weights is null, "encoder_weights",
            "cannot be combined with weights (the whole network's weights replace the encoder's)");
    }
}

/// <summary>Fluent construction of <see cref="TrainerOptions"/>; <see cref="Build"/> validates.</summary>
public sealed class TrainerOptionsBuilder
{
    private TrainerOptions _o;

    internal TrainerOptionsBuilder(TrainerOptions start) => _o = start;

    /// <summary>Network and encoder.</summary>
    public TrainerOptionsBuilder Model(string name, string? encoder = null) { _o = _o with { Model = name, Encoder = encoder }; return this; }
    /// <summary>Dataset root, type and classes.</summary>
    public TrainerOptionsBuilder Dataset(string root, string type = "cityscapes", int numClasses = 19) { _o = _o with { DataRoot = root, Dataset = type, NumClasses = numClasses }; return this; }
    /// <summary>Epochs.</summary>
    public TrainerOptionsBuilder Epochs(int epochs) { _o = _o with { TotalEpochs = epochs }; return this; }
    /// <summary>Training (and validation) batch size.</summary>
    public TrainerOptionsBuilder BatchSize(int train, int? val = null) { _o = _o with { TrainBatchSize = train, ValBatchSize = val ?? _o.ValBatchSize }; return this; }
    /// <summary>Optimiser, base learning rate, SGD momentum and weight decay.</summary>
    public TrainerOptionsBuilder Optimizer(OptimizerKind kind, double baseLr, double? momentum = null, double? weightDecay = null)
    { _o = _o with { Optimizer = kind, BaseLr = baseLr, Momentum = momentum ?? _o.Momentum, WeightDecay = weightDecay ?? _o.WeightDecay }; return this; }
    /// <summary>Learning-rate policy with warm-up epochs (and step size for the step policy).</summary>
    public TrainerOptionsBuilder LrPolicy(LrPolicy policy, int? warmupEpochs = null, int? stepSize = null)
    { _o = _o with { LrPolicy = policy, WarmupEpochs = warmupEpochs ?? _o.WarmupEpochs, StepSize = stepSize ?? _o.StepSize }; return this; }
    /// <summary>Cross-entropy with optional class weights.</summary>
    public TrainerOptionsBuilder CrossEntropy(double[]? classWeights = null) { _o = _o with { LossType = LossKind.CrossEntropy, ClassWeights = classWeights }; return this; }
    /// <summary>OHEM cross-entropy.</summary>
    public TrainerOptionsBuilder Ohem(double threshold = 0.7) { _o = _o with { LossType = LossKind.Ohem, OhemThreshold = threshold }; return this; }
    /// <summary>Auxiliary heads with coefficients (null: 1 each).</summary>
    public TrainerOptionsBuilder Aux(params double[]? coefficients) { _o = _o with { UseAux = true, AuxCoef = coefficients is { Length: > 0 } ? coefficients : null }; return this; }
    /// <summary>STDC detail head and its loss coefficients.</summary>
    public TrainerOptionsBuilder Detail(double lossCoef = 1.0, double diceCoef = 1.0, double bceCoef = 1.0, double threshold = 0.1)
    { _o = _o with { UseDetailHead = true, DetailLossCoef = lossCoef, DiceLossCoef = diceCoef, BceLossCoef = bceCoef, DetailThreshold = threshold }; return this; }
    /// <summary>Mixed precision.</summary>
    public TrainerOptionsBuilder Amp(bool on = true) { _o = _o with { AmpTraining = on }; return this; }
    /// <summary>Weight EMA.</summary>
    public TrainerOptionsBuilder Ema(bool on = true) { _o = _o with { UseEma = on }; return this; }
    /// <summary>Crop size.</summary>
    public TrainerOptionsBuilder Crop(int height, int width) { _o = _o with { CropSize = height, CropH = height, CropW = width }; return this; }
    /// <summary>Augmentation: fixed scale, random scale range, colour jitter, flip.</summary>
    public TrainerOptionsBuilder Augment(double scale = 1.0, double randScaleLow = 0, double randScaleHigh = 0, double jitter = 0, double hFlip = 0)
    { _o = _o with { Scale = scale, RandScale = [randScaleLow, randScaleHigh], Brightness = jitter, Contrast = jitter, Saturation = jitter, HFlip = hFlip }; return this; }
    /// <summary>Validation schedule.</summary>
    public TrainerOptionsBuilder Validation(int interval = 1, int beginEpoch = 0) { _o = _o with { ValInterval = interval, BeginValEpoch = beginEpoch }; return this; }
    /// <summary>Output folder.</summary>
    public TrainerOptionsBuilder SaveDir(string dir) { _o = _o with { SaveDir = dir }; return this; }
    /// <summary>Resume from a checkpoint (null: {save_dir}/last.pth) or not.</summary>
    public TrainerOptionsBuilder Resume(bool on = true, string? path = null) { _o = _o with { LoadCheckpoint = on, ResumeTraining = on, LoadCheckpointPath = path }; return this; }
    /// <summary>Random seed.</summary>
    public TrainerOptionsBuilder Seed(long seed) { _o = _o with { RandomSeed = seed }; return this; }
    /// <summary>Data loader threads.</summary>
    public TrainerOptionsBuilder Workers(int workers) { _o = _o with { BaseWorkers = workers }; return this; }
    /// <summary>Any option by key (as in overrides).</summary>
    public TrainerOptionsBuilder Set(string key, string? value) { _o = _o.With(key, value); return this; }
    /// <summary>Validates and returns the options.</summary>
    public TrainerOptions Build() { _o.Validate(); return _o; }
}

/// <summary>One training option as <see cref="TrainerOptions.Describe"/> lists it.</summary>
/// <param name="Key">The option's key (the reference's config name).</param>
/// <param name="Default">The default value as an override writes it.</param>
/// <param name="Help">One line on what the option does.</param>
public sealed record TrainerOptionInfo(string Key, string Default, string Help);
