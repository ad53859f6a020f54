using FastSeg.Models;
using FastSeg.Models.Inference;
using static FastSeg.Torch.torch;

namespace FastSeg.Export;

/// <summary>
/// The one place that decides which module an export records: a zoo network's inference form in float32 and
/// contiguous layout (batch norms folded into their convolutions, as <see cref="SegmentationModel.ForInference"/>
/// runs it), or the module as given. Disposing it releases the inference form, never the caller's model.
/// </summary>
internal sealed class ExportForm : IDisposable
{
    /// <summary>How the exported inference form is made: only operators every exporter maps (plain float32, NCHW).</summary>
    internal static InferenceOptions InferenceOptions => new()
    {
        Precision = InferencePrecision.Fp32,
        ChannelsLast = false,
        FoldBatchNorm = true,
        FusedKernels = false, // mkldnn_prepacked convolutions have no ONNX or TorchScript form
    };

    private readonly bool _owned;

    private ExportForm(nn.Module<Tensor, Tensor> module, nn.Module stateOwner, bool owned)
    {
        Module = module;
        StateOwner = stateOwner;
        _owned = owned;
    }

    /// <summary>The module whose forward pass is recorded.</summary>
    public nn.Module<Tensor, Tensor> Module { get; }

    /// <summary>
    /// The module whose state-dict keys name the exported weights: the network inside the inference form, so the
    /// names are those of the network's own state dict (checkpoint keys), not prefixed by the wrapper.
    /// </summary>
    public nn.Module StateOwner { get; }

    /// <summary>Whether batch norms were folded (the model is a zoo network and folding was asked for).</summary>
    public bool Folded => _owned;

    /// <summary>
    /// The form to record for <paramref name="model"/>: with <paramref name="foldBatchNorm"/> and a network built
    /// through the zoo, its inference form; otherwise the model itself.
    /// </summary>
    public static ExportForm Create(nn.Module<Tensor, Tensor> model, bool foldBatchNorm)
    {
        if (!foldBatchNorm || model is not SegmentationModel { Info: not null, Options: not null } network || model is InferenceModel)
            return new ExportForm(model, model, owned: false);
        var form = network.ForInference(InferenceOptions);
        // The inference form holds a copy of the network as its only child.
        return new ExportForm(form, form.children().Single(), owned: true);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_owned) Module.Dispose();
    }
}
