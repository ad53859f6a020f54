using FastSeg.Cli.Rendering;
using FastSeg.Data;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using FastSeg.Training;
using FastSeg.Training.Evaluation;
using System.CommandLine;
using Spectre.Console;

namespace FastSeg.Cli.Commands;

/// <summary>
/// <c>fastseg val</c>: a checkpoint's per-class IoU, mIoU and pixel accuracy on the validation split, through
/// <see cref="SegmentationEvaluator"/> in any of its modes. Options as for <c>train</c> (the network, the data, the classes).
/// </summary>
internal static class ValCommand
{
    /// <summary>The <c>val</c> command.</summary>
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var config = Options.Text("--config", "JSON file of training options (dataset, model, classes)", "FILE");
        var checkpoint = new Option<string?>("--checkpoint", "--weights")
        {
            Description = "weights to evaluate: a trainer checkpoint (last.pth/best.pth), a state dict, or a published tag of the model such as " +
                          "'cityscapes' (default: {save_dir}/best.pth, else last.pth)",
            HelpName = "FILE|TAG",
        };
        var precision = Options.Choice("--precision", "eager",
            "eager: the network as built; fp32, bf16, auto: its inference form in that number format (auto is bf16 on CPUs with native bfloat16)",
            "eager", "fp32", "bf16", "auto");
        var scales = Options.PositiveNumbers("--scales", "multi-scale evaluation: average the logits predicted at these scales of each image");
        var flip = Options.Flag("--flip", "also average in the logits of the horizontally flipped image");
        var window = Options.Size("--window", "sliding-window evaluation: predict windows of this size and average where they overlap");
        var stride = Options.Size("--stride", "the step between sliding windows (default: the window size)");
        var command = new Command("val", "evaluate a checkpoint on the validation split: per-class IoU, mIoU, pixel accuracy. " +
                                         "Training options as for train: --config, then key=value or --key value overrides")
        {
            config, checkpoint, precision, scales, flip, window, stride,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse =>
        {
            var tokens = parse.UnmatchedTokens.ToArray();
            if (parse.GetValue(stride) is not null && parse.GetValue(window) is null) throw new UsageException("--stride needs --window");
            string p = parse.GetValue(precision)!;
            var mode = new EvaluationOptions
            {
                Precision = p == "eager" ? null : Options.ToPrecision(p),
                Scales = parse.GetValue(scales) is { Length: > 0 } given ? given : new[] { 1.0 },
                Flip = parse.GetValue(flip),
                Window = parse.GetValue(window) is { } w ? (w.Height, w.Width) : null,
                Stride = parse.GetValue(stride) is { } st ? (st.Height, st.Width) : null,
            };
            return Validate(parse.GetValue(config), parse.GetValue(checkpoint), tokens, mode, stdout, stderr);
        });
        return command;
    }

    private static int Validate(string? configPath, string? checkpoint, string[] overrides, EvaluationOptions mode, TextWriter stdout, TextWriter stderr)
    {
        var options = TrainCommand.LoadOptions(configPath, overrides);
        checkpoint ??= options.Weights;
        if (checkpoint is null)
        {
            var best = Path.Combine(options.SaveDir, "best.pth");
            checkpoint = File.Exists(best) ? best : Path.Combine(options.SaveDir, "last.pth");
        }
        bool published = !PretrainedWeights.LooksLikePath(checkpoint);
        if (published)
        {
            // A published tag of the configured network: fetched before the network is built, so a download problem costs no build.
            if (options.Model is null) throw new TrainerOptionException("model", $"'{checkpoint}' names published weights: set model (e.g. model=ddrnet)");
            string name = ModelZoo.ResolveName(options.Model, options.Decoder);
            checkpoint = PretrainedWeights.ResolvePath(name, options.Encoder, checkpoint, WeightsDownloader.FromEnvironment(), new DownloadProgressWriter(stderr));
        }
        if (!File.Exists(checkpoint)) throw new FileNotFoundException($"checkpoint '{checkpoint}' does not exist", checkpoint);
        if (options.DataRoot is null) throw new TrainerOptionException("data_root", "no dataset root given (the folder with leftImg8bit/ and gtFine/)");
        using var model = options.CreateModel();
        // The same reader as predict: trainer checkpoint or bare state dict; a mismatch is one line naming the keys.
        // Published weights may carry heads (aux) that evaluation does not build.
        using (var weights = ModelCheckpoint.Read(checkpoint)) weights.LoadInto(model, headsOptional: published);
        var device = options.ResolveDevice();
        model.to(device);
        var valSet = new CityscapesDataset(options.DataRoot, "val") { Transform = TrainingRecipe.ValTransform(options, model.Info?.InputNormalization) };
        using var evaluator = new SegmentationEvaluator(options.NumClasses, options.IgnoreIndex, options: mode);
        var report = evaluator.Evaluate(model, valSet, options.ValBatchSize, options.BaseWorkers, device);
        var console = ConsoleRendering.For(stdout);
        console.WriteLine($"{model.Info?.Name}: {valSet.Count} validation images, weights from {checkpoint}; {mode}");
        console.Write(ConsoleRendering.IoUTable(report));
        console.WriteLine("validation " + ConsoleRendering.Summary(report));
        return 0;
    }
}
