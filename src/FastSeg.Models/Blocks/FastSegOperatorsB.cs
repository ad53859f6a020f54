using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Blocks;

/// <summary>
/// The rest of lxtGH/Fast_Seg's shared operators (<c>libs/core/operators.py</c>) that DFSeg, BiSeNet and DFANet use,
/// with Fast_Seg's child names so that its checkpoints load: <see cref="SeparableConv2d"/>, <see cref="PSPModule"/>
/// (operators.py's, with a 1×1 bottleneck; PSPNet.py's 3×3 one is <see cref="Encoders.FastSegPspModule"/>),
/// <see cref="AttentionRefinement"/> and <see cref="FeatureFusion"/>; <see cref="FastSegConvBnRelu"/> and
/// <see cref="FastSegOperators"/> (dsn head, resizes) are shared with the other Fast_Seg networks. Batch norms use PyTorch's defaults (eps 1e-5, momentum 0.1) unless stated.
/// </summary>
public static class FastSegOperatorsB
{
    /// <summary>
    /// Throws a clear error when a training batch of one reaches a batch norm over globally pooled (1×1) maps: PyTorch
    /// refuses that ("expected more than 1 value per channel"), libtorch would silently return the bias.
    /// </summary>
    public static void RequireBatchForPooledNorm(Module module, Tensor input, string network)
    {
        if (module.training && input.shape[0] < 2)
            throw new ArgumentException($"{network} applies batch norm to globally pooled 1×1 maps, so training needs a batch of at least 2", nameof(input));
    }

    /// <summary>
    /// Fast_Seg's <c>SeparableConv2d</c>: "TF-same" zero padding (k_eff − 1 in total, the smaller half before), a
    /// depthwise conv without padding (<c>conv1</c>, carrying stride and dilation), a batch norm (<c>bn</c>) and a 1×1
    /// pointwise conv (<c>pointwise</c>); no activation. Convs without bias by default.
    /// </summary>
    public sealed class SeparableConv2d : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly BatchNorm2d bn;
        private readonly Conv2d pointwise;
        private readonly long _padBegin;
        private readonly long _padEnd;

        /// <summary>Creates the block.</summary>
        public SeparableConv2d(long inChannels, long outChannels, long kernel = 3, long stride = 1, long dilation = 1, bool bias = false)
            : base(nameof(SeparableConv2d))
        {
            long total = kernel + (kernel - 1) * (dilation - 1) - 1;
            _padBegin = total / 2;
            _padEnd = total - _padBegin;
            // With equal halves the padding is the conv's own (same numbers, no padded copy).
            long own = _padBegin == _padEnd ? _padBegin : 0;
            conv1 = Conv2d(inChannels, inChannels, kernel, stride: stride, padding: own, dilation: dilation, groups: inChannels, bias: bias);
            bn = BatchNorm2d(inChannels);
            pointwise = Conv2d(inChannels, outChannels, 1, bias: bias);
            RegisterComponents();
        }

        /// <inheritdoc />
        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            var x = _padBegin == _padEnd ? input : functional.pad(input, new[] { _padBegin, _padEnd, _padBegin, _padEnd });
            x = pointwise.call(bn.call(conv1.call(x)));
            return x.MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// Fast_Seg's <c>PSPModule</c>: for each bin size (1, 2, 3, 6) adaptive average pooling, a 1×1 conv (no bias) and
    /// a batch norm (<c>stages.i.1</c>, <c>stages.i.2</c>; no ReLU), each resized back (bilinear, align_corners = true);
    /// the maps are concatenated in bin order followed by the input, and the <c>bottleneck</c> is a 1×1 conv **with
    /// padding 1** (a Fast_Seg quirk, kept: the output is 2 px larger on every side, its border seeing only zeros), BN,
    /// ReLU and Dropout2d(0.1).
    /// </summary>
    public sealed class PSPModule : Module<Tensor, Tensor>
    {
        private readonly ModuleList<Sequential> stages;
        private readonly Sequential bottleneck;

        /// <summary>Creates the module.</summary>
        public PSPModule(long features, long outFeatures = 512, long[]? sizes = null) : base(nameof(PSPModule))
        {
            sizes ??= new long[] { 1, 2, 3, 6 };
            stages = ModuleList(sizes.Select(s => Sequential(
                AdaptiveAvgPool2d(s),
                Conv2d(features, outFeatures, 1, bias: false),
                BatchNorm2d(outFeatures))).ToArray());
            bottleneck = Sequential(
                Conv2d(features + sizes.Length * outFeatures, outFeatures, 1, padding: 1, bias: false),
                BatchNorm2d(outFeatures),
                ReLU(),
                Dropout2d(0.1));
            RegisterComponents();
        }

        /// <inheritdoc />
        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            var size = input.shape[2..];
            var priors = stages.Select(stage => FastSegOperators.Upsample(stage.call(input), size)).Append(input).ToArray();
            return bottleneck.call(torch.cat(priors, 1)).MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// Fast_Seg's (TorchSeg's) <c>AttentionRefinement</c>: <c>conv_3x3</c> (ConvBnRelu 3×3, padding 1, to the output
    /// channels), then <c>channel_attention</c> = [global average pool, 1×1 ConvBnRelu without ReLU, sigmoid]
    /// multiplied into the feature.
    /// </summary>
    public sealed class AttentionRefinement : Module<Tensor, Tensor>
    {
        private readonly FastSegConvBnRelu conv_3x3;
        private readonly Sequential channel_attention;

        /// <summary>Creates the module.</summary>
        public AttentionRefinement(long inChannels, long outChannels) : base(nameof(AttentionRefinement))
        {
            conv_3x3 = new FastSegConvBnRelu(inChannels, outChannels, 3, 1, 1);
            channel_attention = Sequential(
                AdaptiveAvgPool2d(1),
                new FastSegConvBnRelu(outChannels, outChannels, 1, hasRelu: false),
                Sigmoid());
            RegisterComponents();
        }

        /// <inheritdoc />
        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            var fm = conv_3x3.call(input);
            return (fm * channel_attention.call(fm)).MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// Fast_Seg's (TorchSeg's) <c>FeatureFusion</c>: the two inputs concatenated, <c>conv_1x1</c> (ConvBnRelu 1×1),
    /// then <c>channel_attention</c> = [global average pool, 1×1 conv + ReLU, 1×1 conv, sigmoid] (convs without BN or
    /// bias); output = fm + fm · attention.
    /// </summary>
    public sealed class FeatureFusion : Module<Tensor, Tensor, Tensor>
    {
        private readonly FastSegConvBnRelu conv_1x1;
        private readonly Sequential channel_attention;

        /// <summary>Creates the module.</summary>
        public FeatureFusion(long inChannels, long outChannels, long reduction = 1) : base(nameof(FeatureFusion))
        {
            conv_1x1 = new FastSegConvBnRelu(inChannels, outChannels, 1);
            channel_attention = Sequential(
                AdaptiveAvgPool2d(1),
                new FastSegConvBnRelu(outChannels, outChannels / reduction, 1, hasBn: false),
                new FastSegConvBnRelu(outChannels / reduction, outChannels, 1, hasBn: false, hasRelu: false),
                Sigmoid());
            RegisterComponents();
        }

        /// <summary>Fuses <paramref name="x1"/> and <paramref name="x2"/> (concatenated in that order).</summary>
        public override Tensor forward(Tensor x1, Tensor x2)
        {
            using var scope = NewDisposeScope();
            var fm = conv_1x1.call(torch.cat(new[] { x1, x2 }, 1));
            var attention = channel_attention.call(fm);
            return (fm + fm * attention).MoveToOuterDisposeScope();
        }
    }
}
