using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Blocks;

/// <summary>
/// The shape every segmentation_models.pytorch network shares (SMP's <c>SegmentationModel</c>): an
/// <c>encoder</c> (<see cref="SmpResNetEncoder"/>) whose features all go to a <c>decoder</c>, whose output goes
/// through a <c>segmentation_head</c> (<see cref="SmpBlocks.SegmentationHead"/>) to logits at input resolution. The
/// state dict is those three in that order; SMP's optional classification head (<c>aux_params</c>) is not built, as
/// zh320 never asks for it. The decoder and head are initialised as SMP does (<see cref="SmpBlocks.InitializeDecoder"/>,
/// <see cref="SmpBlocks.InitializeHead"/>); the encoder as torchvision does.
/// </summary>
public abstract class SmpSegmentationModel : SegmentationModel
{
    private readonly SmpResNetEncoder encoder;
    private readonly Module<Tensor[], Tensor> decoder;
    private readonly Sequential segmentation_head;

    /// <summary>Assembles a network from its parts.</summary>
    /// <param name="name">SMP's class name (e.g. "Unet").</param>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="inputMultiple">Height and width must be multiples of this (SMP checks the encoder's output stride).</param>
    /// <param name="encoder">The encoder.</param>
    /// <param name="decoder">The decoder, which takes every encoder feature (the input first).</param>
    /// <param name="segmentationHead">The head.</param>
    protected SmpSegmentationModel(string name, int numClasses, int inputMultiple, SmpResNetEncoder encoder,
        Module<Tensor[], Tensor> decoder, Sequential segmentationHead) : base(name, numClasses, inputMultiple)
    {
        this.encoder = encoder;
        this.decoder = decoder;
        segmentation_head = segmentationHead;
        RegisterComponents();
        SmpBlocks.InitializeDecoder(decoder);
        SmpBlocks.InitializeHead(segmentation_head);
    }

    /// <summary>The encoder (its weights load from torchvision checkpoints; see <see cref="ResNet.FromTorchvision"/>).</summary>
    public SmpResNetEncoder Encoder => encoder;

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var features = encoder.Features(input);
        var x = decoder.call(features);
        return new SegmentationOutput(segmentation_head.call(x).MoveToOuterDisposeScope());
    }
}
