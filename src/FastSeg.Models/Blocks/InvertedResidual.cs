using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Blocks;

/// <summary>
/// MobileNetV2's inverted residual as zh320's Fast-SCNN and ContextNet write it (the same class in both): a 1×1
/// expansion (<see cref="ConvBlocks.PWConvBNAct"/>, with bias, present even at expansion 1), a depthwise 3×3 with the
/// stride, and a 1×1 projection (<see cref="ConvBlocks.ConvBNAct(long, long, long, long, long, long, bool, string, bool)"/>
/// without activation), all under the child "conv"; the input is added when the stride is 1 and the channels do not
/// change.
/// </summary>
public sealed class InvertedResidual : Module<Tensor, Tensor>
{
    private readonly Sequential conv;
    private readonly bool useResidual;

    /// <summary>Creates the block, expanding to <paramref name="inChannels"/> × <paramref name="expandRatio"/> channels.</summary>
    public InvertedResidual(long inChannels, long outChannels, long stride, long expandRatio, string act) : base(nameof(InvertedResidual))
    {
        long hid = inChannels * expandRatio;
        useResidual = stride == 1 && inChannels == outChannels;
        conv = Sequential(
            ConvBlocks.PWConvBNAct(inChannels, hid, act: act),
            ConvBlocks.DWConvBNAct(hid, hid, 3, stride, act: act),
            ConvBlocks.ConvBNAct(hid, outChannels, 1, act: "none"));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (!useResidual) return conv.call(input);
        using var y = conv.call(input);
        return input + y;
    }
}
