using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Distillation;

/// <summary>
/// A frozen teacher network: its parameters stop requiring gradients, and <see cref="Predict"/> runs it in evaluation
/// mode without gradient recording — optionally under bfloat16 autocast to save time and memory — and returns float32
/// logits. Any module that maps images to logits will do (a zoo network, or a larger model loaded from a checkpoint).
/// </summary>
public sealed class TeacherModel : IDisposable
{
    private readonly bool _ownsModule;

    /// <summary>Wraps <paramref name="module"/> and freezes it.</summary>
    /// <param name="module">The teacher: (N, 3, H, W) images to (N, C, h, w) logits.</param>
    /// <param name="autocastBFloat16">Run the forward pass under bfloat16 autocast on the images' device.</param>
    /// <param name="ownsModule">Dispose the module with this wrapper.</param>
    public TeacherModel(nn.Module<Tensor, Tensor> module, bool autocastBFloat16 = false, bool ownsModule = false)
    {
        Module = module ?? throw new ArgumentNullException(nameof(module));
        AutocastBFloat16 = autocastBFloat16;
        _ownsModule = ownsModule;
        foreach (var p in module.parameters()) p.requires_grad_(false);
        module.eval();
    }

    /// <summary>The wrapped network.</summary>
    public nn.Module<Tensor, Tensor> Module { get; }

    /// <summary>Whether the forward pass runs under bfloat16 autocast.</summary>
    public bool AutocastBFloat16 { get; }

    /// <summary>
    /// The teacher's logits for <paramref name="images"/>, float32 (or the images' dtype when that is float64), detached.
    /// The module is put back into evaluation mode first, in case something switched it. The caller owns the result.
    /// </summary>
    public Tensor Predict(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (Module.training) Module.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor logits;
        if (AutocastBFloat16)
        {
            using (autocast(images.device_type, ScalarType.BFloat16))
                logits = Module.call(images);
        }
        else logits = Module.call(images);
        var wanted = images.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        if (logits.dtype != wanted && is_floating_point(logits.dtype)) logits = logits.to(wanted);
        return logits.detach().MoveToOuterDisposeScope();
    }

    /// <summary>Disposes the module when this wrapper owns it.</summary>
    public void Dispose()
    {
        if (_ownsModule) Module.Dispose();
    }
}
