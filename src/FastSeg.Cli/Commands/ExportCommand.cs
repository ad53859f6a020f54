using System.CommandLine;
using System.Globalization;
using FastSeg.Export;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;

namespace FastSeg.Cli.Commands;

/// <summary>What <c>fastseg export</c> does; the command-line parser fills it in.</summary>
internal sealed record ExportSettings
{
    /// <summary>The weights: a trainer checkpoint (best.pth) or a state dict; null exports the network's initial weights.</summary>
    public string? Checkpoint { get; init; }

    /// <summary>Zoo network; null takes the one the checkpoint's trainer config names.</summary>
    public string? Model { get; init; }

    /// <summary>Encoder or variant; null for the checkpoint's or the network's default.</summary>
    public string? Encoder { get; init; }

    /// <summary>Class count; null takes it from the checkpoint (19 without one).</summary>
    public int? NumClasses { get; init; }

    /// <summary>The file format: "onnx" or "torchscript".</summary>
    public string Format { get; init; } = "onnx";

    /// <summary>The recorded input size (width, height).</summary>
    public (int Width, int Height) Size { get; init; } = (1024, 512);

    /// <summary>Whether the file takes any height and width (ONNX only).</summary>
    public bool Dynamic { get; init; }

    /// <summary>Whether batch norms stay as they are instead of being folded into the convolutions before them.</summary>
    public bool KeepBatchNorm { get; init; }

    /// <summary>ONNX opset (ONNX only).</summary>
    public int Opset { get; init; } = 17;

    /// <summary>The output file; its folder must exist.</summary>
    public required string Output { get; init; }
}

/// <summary>
/// <c>fastseg export</c>: writes a zoo network with its trained weights to an ONNX file for ONNX Runtime, or to a
/// TorchScript file traced by libtorch (for <c>torch.jit.load</c>).
/// Exit codes: 0 written; 1 a problem with the files or the network (one line on stderr, no file written); 2 bad settings.
/// </summary>
internal static class ExportCommand
{
    /// <summary>The <c>export</c> command.</summary>
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var output = new Option<string>("--output", "-o") { Description = "the ONNX or TorchScript file to write (its folder must exist)", Required = true };
        var checkpoint = Options.Text("--checkpoint", "weights: a trainer checkpoint (best.pth) or a state dict (default: the network's initial weights)", "FILE");
        var model = Options.Text("--model", "zoo network (default: the one the checkpoint's training config names)", "NAME");
        var encoder = Options.Text("--encoder", "encoder or variant (default: the checkpoint's, else the network's)", "NAME");
        var classes = Options.OptionalInt("--classes", "class count (default: from the checkpoint, else 19)");
        var format = Options.Choice("--format", "onnx", "file format: ONNX for ONNX Runtime, TorchScript for torch.jit.load", "onnx", "torchscript");
        var size = Options.Size("--size", "the input size the graph is recorded at (default 1024x512)");
        var dynamic = Options.Flag("--dynamic", "ONNX: accept any height and width (multiples of the network's input multiple)");
        var keepBatchNorm = Options.Flag("--keep-batchnorm", "export the network as built, without folding batch norms into the convolutions before them");
        var opset = Options.OptionalInt("--opset", $"ONNX opset, {OnnxExportOptions.MinOpset} to {OnnxExportOptions.MaxOpset} (default 17)");
        var command = new Command("export", "write a network with its weights to an ONNX file (for ONNX Runtime, no libtorch needed) or a TorchScript file")
        {
            output, checkpoint, model, encoder, classes, format, size, dynamic, keepBatchNorm, opset,
        };
        command.SetAction(parse => Run(new ExportSettings
        {
            Output = parse.GetValue(output)!,
            Checkpoint = parse.GetValue(checkpoint),
            Model = parse.GetValue(model),
            Encoder = parse.GetValue(encoder),
            NumClasses = parse.GetValue(classes),
            Format = parse.GetValue(format)!,
            Size = parse.GetValue(size) ?? (1024, 512),
            Dynamic = parse.GetValue(dynamic),
            KeepBatchNorm = parse.GetValue(keepBatchNorm),
            Opset = parse.GetValue(opset) ?? 17,
        }, stdout, stderr));
        return command;
    }

    internal static int Run(ExportSettings s, TextWriter stdout, TextWriter stderr)
    {
        if (s.Size.Width < 1 || s.Size.Height < 1)
        {
            stderr.WriteLine($"fastseg export: --size must be positive, got {s.Size.Width}x{s.Size.Height}");
            return 2;
        }
        if (s.Opset is < OnnxExportOptions.MinOpset or > OnnxExportOptions.MaxOpset)
        {
            stderr.WriteLine($"fastseg export: --opset must be {OnnxExportOptions.MinOpset} to {OnnxExportOptions.MaxOpset}, got {s.Opset}");
            return 2;
        }
        if (s.Format == "torchscript" && s.Dynamic)
        {
            stderr.WriteLine("fastseg export: --dynamic is for ONNX; a TorchScript trace keeps the sizes of --size");
            return 2;
        }
        if (s.Checkpoint is null && s.Model is null)
        {
            stderr.WriteLine("fastseg export: give --model NAME or --checkpoint FILE (a trainer checkpoint names its network)");
            return 2;
        }
        try
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(s.Output));
            if (folder is not null && !Directory.Exists(folder))
                throw new DirectoryNotFoundException($"{s.Output}: the folder '{folder}' does not exist");
            using var checkpoint = s.Checkpoint is null ? null : ModelCheckpoint.Read(s.Checkpoint);
            using var model = checkpoint is not null
                ? checkpoint.CreateModel(s.Model, s.Encoder, s.NumClasses)
                : ModelZoo.Create(s.Model!, s.Encoder, s.NumClasses ?? 19);
            model.eval();
            long[] shape = [1, model.InputChannels, s.Size.Height, s.Size.Width];
            if (s.Format == "torchscript")
            {
                TorchScriptExporter.Export(model, s.Output, new TorchScriptExportOptions { InputShape = shape, FoldBatchNorm = !s.KeepBatchNorm });
                stdout.WriteLine($"{Path.GetFullPath(s.Output)}: {model.Info?.Name ?? model.GetName()} at {s.Size.Width}x{s.Size.Height}, TorchScript (libtorch trace)");
                return 0;
            }
            var summary = OnnxExporter.Export(model, s.Output, new OnnxExportOptions
            {
                InputShape = shape,
                DynamicHeightWidth = s.Dynamic,
                Opset = s.Opset,
                FoldBatchNorm = !s.KeepBatchNorm,
            });
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{summary.Path}: {model.Info?.Name ?? model.GetName()} at {s.Size.Width}x{s.Size.Height}{(s.Dynamic ? " (any height and width)" : "")}, " +
                $"opset {s.Opset}, {summary.Nodes} nodes, {summary.InitializerElements:N0} weights"));
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or FormatException
                                      or OnnxExportException or InvalidOperationException or FastSeg.Torch.TorchException)
        {
            stderr.WriteLine($"fastseg export: {CommandLine.Describe(e)}");
            return 1;
        }
    }
}
