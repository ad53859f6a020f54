using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// PSPNet as segmentation_models.pytorch builds it (<c>smp.PSPNet</c>, defaults): a ResNet encoder of depth 3 (its
/// deepest feature is layer2 at 1/8); a pyramid pooling module (<see cref="SmpPspModule"/>, bins 1, 2, 3, 6, each a
/// 1×1 Conv2dReLU to a quarter of the channels, resized back bilinearly with align_corners = true, concatenated with
/// the input); a 1×1 Conv2dReLU to 512 channels; 2-D dropout (0.2); and a 3×3 head upsampled ×8 (bilinear,
/// align_corners = true).
/// </summary>
/// <remarks>
/// SMP quirks kept: the encoder still builds (and the state dict holds) layer3 and layer4, which the depth-3 forward
/// never runs, so they get no gradient and their batch norms never update; the 1×1 bin's conv has a bias and no batch
/// norm (SMP's "BatchNorm does not support 1×1" workaround) while the other bins have a batch norm and no bias.
/// </remarks>
public sealed class SmpPspNet : SmpSegmentationModel
{
    /// <summary>Creates the network.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="encoderName">resnet18 ... resnet152.</param>
    public SmpPspNet(int numClasses, string encoderName = SmpResNetEncoder.DefaultName)
        : this(numClasses, new SmpResNetEncoder(encoderName, depth: 3))
    {
    }

    private SmpPspNet(int numClasses, SmpResNetEncoder encoder)
        : base("PSPNet", numClasses, 8, encoder, new SmpPspDecoder(encoder.OutChannels, 512),
            SmpBlocks.SegmentationHead(512, numClasses, 3, upsampling: 8))
    {
    }
}

/// <summary>SMP's <c>PSPDecoder</c>: <c>psp</c> (pyramid pooling), <c>conv</c> (1×1 Conv2dReLU) and 2-D dropout.</summary>
public sealed class SmpPspDecoder : Module<Tensor[], Tensor>
{
    private readonly SmpPspModule psp;
    private readonly Sequential conv;
    private readonly Dropout dropout;

    /// <summary>Creates the decoder for an encoder with <paramref name="encoderChannels"/> (the input first).</summary>
    public SmpPspDecoder(IReadOnlyList<int> encoderChannels, long outChannels) : base("PSPDecoder")
    {
        int c = encoderChannels[^1];
        psp = new SmpPspModule(c, new[] { 1, 2, 3, 6 });
        conv = SmpBlocks.Conv2dReLU(2L * c, outChannels, 1);
        dropout = Dropout2d(0.2);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor[] features)
    {
        using var scope = NewDisposeScope();
        return dropout.call(conv.call(psp.call(features[^1]))).MoveToOuterDisposeScope();
    }
}

/// <summary>SMP's <c>PSPModule</c>: a ModuleList <c>blocks</c> of <see cref="SmpPspBlock"/>, their outputs concatenated with the input (last).</summary>
public sealed class SmpPspModule : Module<Tensor, Tensor>
{
    private readonly ModuleList<SmpPspBlock> blocks;

    /// <summary>Creates the module.</summary>
    public SmpPspModule(long inChannels, int[] sizes) : base("PSPModule")
    {
        blocks = ModuleList(sizes.Select(s => new SmpPspBlock(inChannels, inChannels / sizes.Length, s)).ToArray());
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var parts = blocks.Select(b => b.call(input)).Append(input).ToArray();
        return cat(parts, 1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// SMP's <c>PSPBlock</c>: a Sequential <c>pool</c> of adaptive average pooling to size × size and a 1×1 Conv2dReLU
/// (without batch norm for size 1), resized back to the input (bilinear, align_corners = true).
/// </summary>
public sealed class SmpPspBlock : Module<Tensor, Tensor>
{
    private readonly Sequential pool;

    /// <summary>Creates the block.</summary>
    public SmpPspBlock(long inChannels, long outChannels, int size) : base("PSPBlock")
    {
        pool = Sequential(AdaptiveAvgPool2d(size), SmpBlocks.Conv2dReLU(inChannels, outChannels, 1, useBatchnorm: size != 1));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var pooled = pool.call(input);
        return functional.interpolate(pooled, new[] { input.shape[2], input.shape[3] }, mode: InterpolationMode.Bilinear, align_corners: true);
    }
}
