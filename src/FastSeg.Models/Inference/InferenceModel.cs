using FastSeg.Models.Zoo;
using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Inference;

/// <summary>The number format an <see cref="InferenceModel"/> computes in.</summary>
public enum InferencePrecision
{
    /// <summary>bfloat16 where the CPU has native bfloat16 arithmetic (<see cref="CpuFeatures.HasNativeBFloat16"/>), float32 elsewhere.</summary>
    Auto,

    /// <summary>float32 weights and activations: the eager network's logits within rounding.</summary>
    Fp32,

    /// <summary>
    /// bfloat16 weights and activations (converted once, when the inference form is made); logits are returned as
    /// float32. Emulated, and slow, on CPUs without native bfloat16.
    /// </summary>
    BFloat16,
}

/// <summary>Settings of <see cref="SegmentationModel.ForInference"/>.</summary>
public sealed record InferenceOptions
{
    /// <summary>The number format (default <see cref="InferencePrecision.Auto"/>).</summary>
    public InferencePrecision Precision { get; init; } = InferencePrecision.Auto;

    /// <summary>Channels-last (NHWC) weights and activations, the layout oneDNN's convolutions run fastest in (default true).</summary>
    public bool ChannelsLast { get; init; } = true;

    /// <summary>Fold each batch norm that directly follows a convolution into it (default true).</summary>
    public bool FoldBatchNorm { get; init; } = true;

    /// <summary>
    /// Run convolutions through oneDNN with weights packed once and a following ReLU fused in
    /// (<see cref="nn.utils.prepack_convolutions"/>; default true). Applies only with <see cref="ChannelsLast"/>: the
    /// packed kernels are slower than the plain ones on NCHW activations. Also runs transposed convolutions as
    /// ordinary convolutions (<see cref="nn.utils.rewrite_transposed_convolutions"/>), in either layout. Turn it off for
    /// a form made only of standard operators (e.g. for ONNX export).
    /// </summary>
    public bool FusedKernels { get; init; } = true;
}

/// <summary>What the CPU this process runs on can do, read once from <c>/proc/cpuinfo</c>.</summary>
public static class CpuFeatures
{
    private static readonly Lazy<bool> NativeBFloat16 = new(() =>
    {
        try
        {
            return File.Exists("/proc/cpuinfo") && FlagsHaveNativeBFloat16(File.ReadAllText("/proc/cpuinfo"));
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    });

    /// <summary>
    /// Whether the CPU computes bfloat16 natively: the AVX-512 BF16 instructions (<c>avx512_bf16</c>) or AMX tiles
    /// (<c>amx_bf16</c>), which libtorch's oneDNN kernels use. False where the flags cannot be read.
    /// </summary>
    public static bool HasNativeBFloat16 => NativeBFloat16.Value;

    /// <summary>Whether the "flags" lines of a <c>/proc/cpuinfo</c> text name avx512_bf16 or amx_bf16.</summary>
    public static bool FlagsHaveNativeBFloat16(string cpuinfo)
    {
        ArgumentNullException.ThrowIfNull(cpuinfo);
        foreach (var line in cpuinfo.Split('\n'))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || !line[..colon].Trim().Equals("flags", StringComparison.Ordinal)) continue;
            var flags = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (flags.Contains("avx512_bf16") || flags.Contains("amx_bf16")) return true;
        }
        return false;
    }
}

/// <summary>
/// The evaluation-only inference form of a zoo network (<see cref="SegmentationModel.ForInference"/>): a copy of the
/// network with each batch norm that directly follows a convolution folded into it, weights converted once to the
/// chosen precision and to channels-last, convolutions prepacked for oneDNN with their ReLU fused where that is safe
/// (<see cref="InferenceOptions.FusedKernels"/>), no parameter requiring a gradient, and every forward pass in inference
/// mode. It takes the same float images as the network and returns float32 logits of the same shape; the network it
/// was made from is not changed.
/// </summary>
/// <remarks>
/// The folded weights are not the checkpoint's: load checkpoints into the ordinary network and make the inference
/// form from it. Calling <see cref="train"/> with true throws. The logits are libtorch inference tensors: they cannot
/// be modified in place outside inference mode (clone them first).
/// </remarks>
public sealed class InferenceModel : SegmentationModel
{
    private readonly SegmentationModel network;

    private InferenceModel(SegmentationModel network, ScalarType dtype, bool channelsLast, nn.BatchNormFolding? folding,
        IReadOnlyList<string> float32Modules, nn.ConvolutionPrepacking? prepacking, nn.TransposedConvolutionRewrite? deconvolutions)
        : base(network.Name, network.NumClasses, network.InputMultiple, network.InputChannels)
    {
        this.network = network;
        DType = dtype;
        ChannelsLast = channelsLast;
        Folding = folding;
        Float32Modules = float32Modules;
        Prepacking = prepacking;
        TransposedConvolutions = deconvolutions;
        Info = network.Info;
        Options = network.Options;
        RegisterComponents();
        base.train(false);
    }

    /// <summary>The precision the weights and activations are in: Float32 or BFloat16.</summary>
    public ScalarType DType { get; }

    /// <summary>Whether weights and activations are channels-last.</summary>
    public bool ChannelsLast { get; }

    /// <summary>Which batch norms were folded and which were left (and why); null when folding was turned off.</summary>
    public nn.BatchNormFolding? Folding { get; }

    /// <summary>
    /// In bfloat16, the modules that stay in float32 because libtorch 1.13 has no bfloat16 CPU kernel for them
    /// (transposed convolutions, max-unpooling; see <see cref="nn.utils.convert_precision"/>).
    /// </summary>
    public IReadOnlyList<string> Float32Modules { get; }

    /// <summary>Which convolutions run prepacked and which have their ReLU fused; null when fused kernels are off.</summary>
    public nn.ConvolutionPrepacking? Prepacking { get; }

    /// <summary>
    /// With <see cref="InferenceOptions.FusedKernels"/>, the transposed convolutions that run as ordinary (oneDNN)
    /// float32 convolutions over a zero-interleaved input (<see cref="nn.utils.rewrite_transposed_convolutions"/>); else null.
    /// </summary>
    public nn.TransposedConvolutionRewrite? TransposedConvolutions { get; }

    /// <summary>
    /// Makes the inference form of <paramref name="source"/>, a network built through <see cref="ModelZoo"/>: a fresh
    /// network of the same name and options receives a copy of its state dict and is then transformed.
    /// </summary>
    /// <exception cref="ArgumentException">The network was not built through the zoo, or is already an inference form.</exception>
    public static InferenceModel Create(SegmentationModel source, InferenceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source is InferenceModel) throw new ArgumentException($"{source.Name} is already an inference form", nameof(source));
        if (source.Info is null || source.Options is null)
            throw new ArgumentException($"{source.Name} was not built through ModelZoo: its inference form is rebuilt from the zoo name and options", nameof(source));
        options ??= new InferenceOptions();
        var dtype = options.Precision switch
        {
            InferencePrecision.Fp32 => ScalarType.Float32,
            InferencePrecision.BFloat16 => ScalarType.BFloat16,
            _ => CpuFeatures.HasNativeBFloat16 ? ScalarType.BFloat16 : ScalarType.Float32,
        };
        var copy = ModelZoo.Create(source.Info.Name, source.Options);
        try
        {
            using (var scope = NewDisposeScope()) copy.load_state_dict(source.state_dict());
            copy.eval();
            foreach (var p in copy.parameters()) p.requires_grad = false;
            nn.BatchNormFolding? folding = null;
            if (options.FoldBatchNorm)
            {
                using var example = zeros(1, copy.InputChannels, RoundUp(64, copy.InputMultiple), RoundUp(128, copy.InputMultiple));
                folding = nn.utils.fold_batch_norms(copy, example);
            }
            IReadOnlyList<string> float32Modules = dtype != ScalarType.Float32 ? nn.utils.convert_precision(copy, dtype) : Array.Empty<string>();
            if (options.ChannelsLast) ToChannelsLast(copy);
            // Transposed convolutions as oneDNN convolutions (libtorch's own CPU kernel for them is its slow im2col one),
            // computed in float32 as before in a bfloat16 form: in bfloat16, ENet's full-resolution classifier
            // (a transposed convolution) alone moves its logits by a fifth.
            var deconvolutions = options.FusedKernels
                ? nn.utils.rewrite_transposed_convolutions(copy, ScalarType.Float32, options.ChannelsLast ? MemoryFormat.ChannelsLast : MemoryFormat.Contiguous)
                : null;
            nn.ConvolutionPrepacking? prepacking = null;
            if (options.FusedKernels && options.ChannelsLast)
            {
                // Traced in the dtype and layout the form runs in, so the packed weights are the converted ones.
                using var scope = NewDisposeScope();
                var example = zeros(1, copy.InputChannels, RoundUp(64, copy.InputMultiple), RoundUp(128, copy.InputMultiple))
                    .to(dtype).contiguous(MemoryFormat.ChannelsLast);
                prepacking = nn.utils.prepack_convolutions(copy, example);
            }
            try
            {
                return new InferenceModel(copy, dtype, options.ChannelsLast, folding, float32Modules, prepacking, deconvolutions);
            }
            catch
            {
                prepacking?.Dispose();
                deconvolutions?.Dispose();
                throw;
            }
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    private static long RoundUp(long v, long m) => (v + m - 1) / m * m;

    private static void ToChannelsLast(nn.Module module)
    {
        using var noGrad = no_grad();
        foreach (var t in module.parameters().Cast<Tensor>().Concat(module.buffers()))
        {
            if (t.dim() != 4) continue;
            using var converted = t.contiguous(MemoryFormat.ChannelsLast);
            if (!converted.is_same(t)) t.set_data(converted);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Prepacking?.Dispose();
            TransposedConvolutions?.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Only evaluation mode: <c>train(true)</c> throws <see cref="InvalidOperationException"/>.</summary>
    public override nn.Module train(bool mode = true)
    {
        if (mode) throw new InvalidOperationException($"the inference form of {Name} is evaluation-only; train the network it was made from");
        return base.train(false);
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var x = input.dtype == DType ? input : input.to(DType);
        if (ChannelsLast) x = x.contiguous(MemoryFormat.ChannelsLast);
        var logits = network.call(x);
        if (logits.dtype != ScalarType.Float32) logits = logits.to(ScalarType.Float32);
        return new SegmentationOutput(logits.MoveToOuterDisposeScope());
    }
}
