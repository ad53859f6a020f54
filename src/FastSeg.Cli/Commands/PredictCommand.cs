using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using FastSeg.Data;
using FastSeg.Models;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using FastSeg.Cli.Rendering;
using static FastSeg.Torch.torch;

namespace FastSeg.Cli.Commands;

/// <summary>What <c>fastseg predict</c> does; the command-line parser fills it in.</summary>
internal sealed record PredictSettings
{
    /// <summary>An image file, or a folder searched recursively for images (.png, .jpg, .jpeg, .bmp, .tif, .tiff, .webp).</summary>
    public required string Input { get; init; }

    /// <summary>
    /// Where the pictures go: <c>{stem}_trainIds.png</c>, <c>{stem}_color.png</c> and <c>{stem}_overlay.png</c> per
    /// image, in the same sub-folder as the image has under <see cref="Input"/> when that is a folder.
    /// </summary>
    public required string OutputDir { get; init; }

    /// <summary>
    /// The weights: a trainer checkpoint (last.pth, best.pth) or a state dict saved by PyTorch or FastSeg, or a tag of
    /// published weights of <see cref="Model"/> (e.g. "cityscapes"), fetched into the weights cache on first use.
    /// </summary>
    public required string Checkpoint { get; init; }

    /// <summary>Where published weights are cached and read from; null for the environment's (FASTSEG_HOME, FASTSEG_WEIGHTS_URL).</summary>
    public FastSeg.Models.Zoo.WeightsDownloader? Downloader { get; init; }

    /// <summary>Zoo network name; null takes the one the checkpoint's trainer config records.</summary>
    public string? Model { get; init; }

    /// <summary>Encoder or variant; null for the checkpoint's (same network) or the network's default.</summary>
    public string? Encoder { get; init; }

    /// <summary>Class count; null takes it from the checkpoint (its config, or its classifier's shape).</summary>
    public int? NumClasses { get; init; }

    /// <summary>Sizes the network cannot take: pad bottom/right and crop back (default), or resize and resize back.</summary>
    public InputSizeMode Mode { get; init; } = InputSizeMode.Pad;

    /// <summary>Run the network at this size (WxH on the command line) instead of each image's own; null: the image's.</summary>
    public (int Width, int Height)? Size { get; init; }

    /// <summary>A palette file (one "r g b" or "#rrggbb" per class); null: the Cityscapes colours for 19 classes, generated colours otherwise.</summary>
    public string? PaletteFile { get; init; }

    /// <summary>The colour layer's weight in the overlay, 0 to 1.</summary>
    public double Alpha { get; init; } = 0.5;

    /// <summary>libtorch intra-op threads; null keeps the default (one per core).</summary>
    public int? Threads { get; init; }

    /// <summary>The inference form's number format (default auto: bf16 where the CPU has native bfloat16).</summary>
    public InferencePrecision Precision { get; init; } = InferencePrecision.Auto;

    /// <summary>Multi-scale inference: the scales whose logits are averaged (default: 1 alone).</summary>
    public IReadOnlyList<double>? Scales { get; init; }

    /// <summary>Also average in the logits of the horizontally flipped image.</summary>
    public bool Flip { get; init; }

    /// <summary>Sliding-window inference: the window (WxH on the command line); null predicts the whole image at once.</summary>
    public (int Width, int Height)? Window { get; init; }

    /// <summary>The step between sliding windows (WxH); null: the window's size.</summary>
    public (int Width, int Height)? Stride { get; init; }
}

/// <summary>
/// <c>fastseg predict</c>: segments one image or a folder of images with a trained network and writes, per image, the
/// class ids (8-bit PNG of train ids, the image's size), their colours and an overlay on the image.
/// </summary>
/// <remarks>
/// Exit codes: 0 all images done; 1 a problem with the files (checkpoint, image, palette, output) or the network —
/// one line each on stderr, and an image that cannot be read is reported and skipped while the others are still
/// predicted; 2 settings out of range.
/// </remarks>
internal static class PredictCommand
{
    private static readonly string[] ImageExtensions = { ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp" };

    /// <summary>The <c>predict</c> command.</summary>
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string>("INPUT") { Description = "an image, or a folder searched recursively for images" };
        var output = new Option<string>("--output", "-o") { Description = "output folder for {name}_trainIds.png, {name}_color.png, {name}_overlay.png", Required = true };
        var checkpoint = new Option<string>("--checkpoint", "-c", "--weights")
        {
            Description = "weights: a trainer checkpoint (best.pth, last.pth), a state dict (.pth), or a published tag of --model " +
                          "such as 'cityscapes' (downloaded into $FASTSEG_HOME/weights or ~/.cache/fastseg/weights on first use)",
            Required = true,
        };
        var model = Options.Text("--model", "zoo network (default: the one the checkpoint's training config names)", "NAME");
        var encoder = Options.Text("--encoder", "encoder or variant (default: the checkpoint's, else the network's)", "NAME");
        var classes = Options.OptionalInt("--classes", "class count (default: from the checkpoint)");
        var mode = Options.Choice("--mode", "pad", "sizes the network cannot take: pad bottom/right and crop back, or resize and resize back", "pad", "resize");
        var size = Options.Size("--size", "run the network at this size instead of each image's own");
        var palette = Options.Text("--palette", "palette file: one 'r g b' or '#rrggbb' per class (default: Cityscapes colours for 19 classes)", "FILE");
        var alpha = Options.Double("--alpha", 0.5, "weight of the colours in the overlay, 0 to 1");
        var threads = Options.OptionalInt("--threads", "libtorch intra-op threads");
        var precision = Options.Precision("auto");
        var scales = Options.PositiveNumbers("--scales", "multi-scale inference: average the logits predicted at these scales of the image");
        var flip = Options.Flag("--flip", "also average in the logits of the horizontally flipped image");
        var window = Options.Size("--window", "sliding-window inference: predict windows of this size and average where they overlap");
        var stride = Options.Size("--stride", "the step between sliding windows (default: the window size)");
        var command = new Command("predict", "segment an image or a folder of images of any size: class-id PNG, colour PNG and overlay per image")
        {
            input, output, checkpoint, model, encoder, classes, mode, size, palette, alpha, threads, precision, scales, flip, window, stride,
        };
        command.SetAction(parse => Run(new PredictSettings
        {
            Input = parse.GetValue(input)!,
            OutputDir = parse.GetValue(output)!,
            Checkpoint = parse.GetValue(checkpoint)!,
            Model = parse.GetValue(model),
            Encoder = parse.GetValue(encoder),
            NumClasses = parse.GetValue(classes),
            Mode = parse.GetValue(mode) == "resize" ? InputSizeMode.Resize : InputSizeMode.Pad,
            Size = parse.GetValue(size),
            PaletteFile = parse.GetValue(palette),
            Alpha = parse.GetValue(alpha),
            Threads = parse.GetValue(threads),
            Precision = Options.ToPrecision(parse.GetValue(precision)!),
            Scales = parse.GetValue(scales) is { Length: > 0 } given ? given : null,
            Flip = parse.GetValue(flip),
            Window = parse.GetValue(window),
            Stride = parse.GetValue(stride),
        }, stdout, stderr));
        return command;
    }

    internal static int Run(PredictSettings s, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (Validate(s) is { } problem)
        {
            stderr.WriteLine($"fastseg predict: {problem}");
            return 2;
        }
        try
        {
            return Run(s, stdout, stderr, ListInputs(s.Input, s.OutputDir));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or FormatException
                                      or ImageException or FastSeg.Torch.TorchException)
        {
            stderr.WriteLine($"fastseg predict: {CommandLine.Describe(e)}");
            return 1;
        }
    }

    private static string? Validate(PredictSettings s)
    {
        if (!(s.Alpha >= 0 && s.Alpha <= 1)) return string.Create(CultureInfo.InvariantCulture, $"--alpha must be in [0, 1], got {s.Alpha}");
        if (s.NumClasses is < 1 or > Palette.MaxColors) return $"--classes must be in [1, {Palette.MaxColors}] (class ids are written as 8-bit PNG), got {s.NumClasses}";
        if (s.Size is { } size && (size.Width < 1 || size.Height < 1)) return $"--size must be positive, got {size.Width}x{size.Height}";
        if (s.Threads is < 1) return $"--threads must be at least 1, got {s.Threads}";
        if (!Enum.IsDefined(s.Mode)) return $"--mode must be pad or resize, got {s.Mode}";
        if (s.Stride is not null && s.Window is null) return "--stride needs --window";
        if (s.Window is { } w && (w.Width < 1 || w.Height < 1)) return $"--window must be positive, got {w.Width}x{w.Height}";
        if (s.Stride is { } st && (st.Width < 1 || st.Height < 1)) return $"--stride must be positive, got {st.Width}x{st.Height}";
        if (s.Scales is { } sc && (sc.Count == 0 || sc.Any(v => !(v > 0)))) return $"--scales must be positive numbers, got {string.Join(",", sc)}";
        return null;
    }

    // Cheap checks first (inputs listed by the caller, the palette read here), so a wrong path fails before the
    // checkpoint is read and the network built.
    private static int Run(PredictSettings s, TextWriter stdout, TextWriter stderr, List<(string Path, string RelativeFolder)> inputs)
    {
        var palette = s.PaletteFile is null ? null : Palette.Load(s.PaletteFile);
        // The thread count is process-wide: set for this command only, so an in-process caller (tests, a host) keeps its own.
        int previousThreads = get_num_threads();
        if (s.Threads is int threads) set_num_threads(threads);
        try
        {
            return Predict(s, inputs, palette, stdout, stderr);
        }
        finally
        {
            if (s.Threads is not null) set_num_threads(previousThreads);
        }
    }

    private static int Predict(PredictSettings s, List<(string Path, string RelativeFolder)> inputs, Palette? palette,
        TextWriter stdout, TextWriter stderr)
    {
        string weightsPath = s.Checkpoint;
        string? encoder = s.Encoder;
        if (!PretrainedWeights.LooksLikePath(s.Checkpoint))
        {
            if (s.Model is null)
                throw new ArgumentException($"'{s.Checkpoint}' names published weights (or is a missing file): give the network with --model NAME");
            var entry = PretrainedWeights.Find(s.Model, s.Encoder, s.Checkpoint);
            weightsPath = PretrainedWeights.Fetch(entry, s.Downloader ?? WeightsDownloader.FromEnvironment(), new DownloadProgressWriter(stderr));
            encoder = entry.Encoder ?? encoder;
        }
        using var checkpoint = ModelCheckpoint.Read(weightsPath);
        using var model = checkpoint.CreateModel(s.Model, encoder, s.NumClasses);
        if (model.NumClasses > Palette.MaxColors)
            throw new ArgumentException($"{model.Info?.Name} has {model.NumClasses} classes; class ids above 255 do not fit the 8-bit class-id PNG");
        if (palette is not null && palette.Count < model.NumClasses)
            throw new ArgumentException($"{s.PaletteFile}: {palette.Count} colours for the {model.NumClasses} classes of {model.Info?.Name}");
        palette ??= model.NumClasses == Palette.Cityscapes.Count ? Palette.Cityscapes : Palette.Generated(model.NumClasses);

        using var predictor = new SegmentationPredictor(model, new PredictorOptions
        {
            Mode = s.Mode,
            InferenceSize = s.Size is { } size ? (size.Height, size.Width) : null,
            Precision = s.Precision,
            Scales = s.Scales ?? new[] { 1.0 },
            Flip = s.Flip,
            Window = s.Window is { } w ? (w.Height, w.Width) : null,
            Stride = s.Stride is { } st ? (st.Height, st.Width) : null,
        });
        var network = (InferenceModel)predictor.Network;
        string description = $"{model.Info?.Name}{(model.Options?.Encoder is { } e ? $" ({e})" : "")}, {model.NumClasses} classes, " +
                             $"{s.Mode.ToString().ToLowerInvariant()} mode, {(network.DType == ScalarType.BFloat16 ? "bf16" : "fp32")}" +
                             (s.Scales is { } scales ? $", scales {string.Join(",", scales.Select(v => v.ToString(CultureInfo.InvariantCulture)))}" : "") +
                             (s.Flip ? ", flip" : "") + (s.Window is { } win ? $", {win.Width}x{win.Height} windows" : "");
        stdout.WriteLine($"{checkpoint.FilePath}: {description}");

        int failed = 0;
        var total = Stopwatch.StartNew();
        foreach (var (path, relativeFolder) in inputs)
        {
            var watch = Stopwatch.StartNew();
            try
            {
                using var scope = NewDisposeScope();
                using var image = Image.Read(path);
                var ids = predictor.Predict(image.ToTensor());
                using var rendered = SegmentationRenderer.Render(image, ids, palette, s.Alpha);
                var written = rendered.Save(Path.Combine(s.OutputDir, relativeFolder), Path.GetFileNameWithoutExtension(path));
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{path} ({image.Width}x{image.Height}) -> {written[0]}, {Path.GetFileName(written[1])}, {Path.GetFileName(written[2])} ({watch.Elapsed.TotalMilliseconds:F0} ms)"));
            }
            catch (ImageException ex)
            {
                // A file that is not a readable image is reported and skipped; the rest of the folder still runs.
                failed++;
                stderr.WriteLine($"fastseg predict: {CommandLine.Describe(ex)}");
            }
        }
        int done = inputs.Count - failed;
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"predicted {done} of {inputs.Count} image{(inputs.Count == 1 ? "" : "s")} in {total.Elapsed.TotalSeconds:F2} s into {Path.GetFullPath(s.OutputDir)}"));
        return failed == 0 ? 0 : 1;
    }

    /// <summary>The images to predict, each with the folder (relative to the input folder) its outputs go to.</summary>
    private static List<(string Path, string RelativeFolder)> ListInputs(string input, string outputDir)
    {
        if (File.Exists(input)) return new() { (input, "") };
        if (!Directory.Exists(input)) throw new FileNotFoundException($"{input}: no such image file or folder", input);
        // When the output folder is (inside) the input folder, the pictures of an earlier run are results, not inputs.
        string outputFull = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputDir)) + Path.DirectorySeparatorChar;
        bool EarlierResult(string f) =>
            Path.GetFullPath(f).StartsWith(outputFull, StringComparison.Ordinal)
            && RenderedSegmentation.FileSuffixes.Any(suffix => f.EndsWith(suffix, StringComparison.Ordinal));
        var found = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
            .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Where(f => !EarlierResult(f))
            .OrderBy(f => f, StringComparer.Ordinal)
            .Select(f => (f, Path.GetDirectoryName(Path.GetRelativePath(input, f)) ?? ""))
            .ToList();
        if (found.Count == 0)
            throw new FileNotFoundException($"{input}: no images ({string.Join(", ", ImageExtensions)}) in this folder or below it", input);
        // a.png and a.jpg in one folder would write the same output files; refuse rather than overwrite one with the other.
        var clash = found.GroupBy(f => Path.Combine(f.Item2, Path.GetFileNameWithoutExtension(f.f)), StringComparer.Ordinal)
            .FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
            throw new ArgumentException($"{string.Join(" and ", clash.Select(f => f.f))} would write the same output files ({clash.Key}_*.png); rename one");
        return found;
    }
}
