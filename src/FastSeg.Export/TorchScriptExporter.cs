using FastSeg.Models;
using static FastSeg.Torch.torch;

namespace FastSeg.Export;

/// <summary>How <see cref="TorchScriptExporter"/> writes a network.</summary>
public sealed class TorchScriptExportOptions
{
    /// <summary>The input the forward pass is traced with, (N, C, H, W); the default is one 3×512×1024 image.</summary>
    public long[] InputShape { get; init; } = [1, 3, 512, 1024];

    /// <summary>
    /// Whether a zoo network is traced in its float32 inference form (batch norms folded into the convolutions before
    /// them), as <see cref="OnnxExportOptions.FoldBatchNorm"/>. Default true.
    /// </summary>
    public bool FoldBatchNorm { get; init; } = true;
}

/// <summary>
/// Writes a network to a TorchScript file through libtorch's own tracer: one eval forward pass, run by FastSeg through
/// its usual dispatch path, is traced into the <c>forward</c> method of a script module whose parameters and buffers
/// are the network's, under its state-dict keys. The file loads with <c>torch.jit.load</c> in Python or C++ (libtorch
/// 1.13 or later). As with any trace, sizes computed from the input are fixed at <see cref="TorchScriptExportOptions.InputShape"/>.
/// </summary>
public static class TorchScriptExporter
{
    /// <summary>
    /// Exports <paramref name="model"/> to <paramref name="path"/>. The model must be in eval mode. Nothing is written
    /// when the export fails.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is in training mode.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist.</exception>
    /// <exception cref="ArgumentException">The input shape is invalid.</exception>
    /// <exception cref="FastSeg.Torch.TorchException">libtorch's tracer or serializer failed.</exception>
    public static void Export(nn.Module<Tensor, Tensor> model, string path, TorchScriptExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new TorchScriptExportOptions();
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null && !Directory.Exists(folder))
            throw new DirectoryNotFoundException($"cannot write the TorchScript file '{path}': the folder '{folder}' does not exist");
        var shape = options.InputShape;
        if (shape is null || shape.Length != 4 || shape.Any(d => d < 1))
            throw new ArgumentException($"InputShape must be (N, C, H, W) with positive sizes, got [{string.Join(", ", shape ?? [])}]", nameof(options));
        if (model.training)
            throw new InvalidOperationException(
                $"{model.GetName()} is in training mode; TorchScript export traces the inference graph (BatchNorm with running statistics, no dropout): call model.eval() first");

        using var form = ExportForm.Create(model, options.FoldBatchNorm);
        var device = form.Module.parameters().FirstOrDefault()?.device ?? CPU;
        using var scope = NewDisposeScope();
        // Any values do: the trace does not depend on them. A ramp avoids the special cases of a constant image.
        var input = linspace(-1, 1, shape.Aggregate(1L, (a, b) => a * b)).reshape(shape).to(device);
        if (model is SegmentationModel seg) seg.CheckInput(input);
        using var grad = no_grad();
        jit.save_traced(form.Module, input, path, form.StateOwner);
    }
}
