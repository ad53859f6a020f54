using FastSeg.Models.Blocks;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// Fast-SCNN as lxtGH/Fast_Seg builds it (<c>libs/models/FastSCNN.py</c>, <c>FastSCNN(num_classes, aux)</c>),
/// registered as "fast_seg/fastscnn". Learning to downsample: a 3×3 stride-2 conv-BN-ReLU with <em>no padding</em>
/// (3→32) and two stride-2 depthwise-separable units (→48, →64), about 1/8. Global feature extractor: MobileNetV2
/// inverted residuals (expansion 6) in three stages of three blocks (64 stride 2, 96 stride 2, 128 stride 1) and a
/// pyramid pooling module (bins 1, 2, 3, 6, each 1×1 conv-BN-ReLU to 32 channels; [input, bins] concatenated and
/// fused by a 1×1 conv-BN-ReLU to 128). Feature fusion: the 1/32 branch upsampled ×4, a depthwise 3×3 conv-BN-ReLU
/// and a 1×1 conv (with bias) + BN, added to a 1×1 conv (with bias) + BN of the 1/8 features, then ReLU. Classifier:
/// two depthwise-separable units, Dropout(0.1) and a 1×1 conv with bias. The optional <c>auxlayer</c> (built when
/// aux is enabled, as Fast_Seg's <c>aux=True</c>) reads the 1/8 features: 3×3 conv-BN-ReLU, Dropout(0.1), 1×1 conv.
/// </summary>
/// <remarks>
/// <para>Quirks of Fast_Seg kept: the unpadded first conv; the ×4 fusion by scale factor, which only lines up when
/// the downsampled side is a multiple of 4, so height and width must be multiples of 32
/// (<see cref="SegmentationModel.InputMultiple"/>); element-wise (not channel) dropout in the classifier and the
/// auxiliary head; every resize bilinear with align_corners = true.</para>
/// <para>Deviations from Fast_Seg: its forward returns a tuple at 1/8, with the auxiliary logits in both modes when
/// aux is on; here the forward returns the logits resized to the input (bilinear, align_corners = true, as Fast_Seg's
/// CriterionOhemDSN resizes them), and the auxiliary logits (1/8, as Fast_Seg returns them; weight 0.4 in its loss)
/// only in training mode, in <see cref="SegmentationOutput.Aux"/>.</para>
/// </remarks>
public sealed class FastSegFastSCNN : SegmentationModel
{
    private readonly FastSegFastSCNNLearningToDownsample learning_to_downsample;
    private readonly FastSegFastSCNNGlobalFeatureExtractor global_feature_extractor;
    private readonly FastSegFastSCNNFeatureFusion feature_fusion;
    private readonly FastSegFastSCNNClassifier classifier;
    private readonly Sequential? auxlayer;

    /// <summary>Creates Fast_Seg's Fast-SCNN.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="aux">Build the auxiliary head (its logits are returned in training mode).</param>
    public FastSegFastSCNN(int numClasses, bool aux = false) : base("FastSCNN", numClasses, 32)
    {
        learning_to_downsample = new FastSegFastSCNNLearningToDownsample(32, 48, 64);
        global_feature_extractor = new FastSegFastSCNNGlobalFeatureExtractor(64, new long[] { 64, 96, 128 }, 128, 6, new[] { 3, 3, 3 });
        feature_fusion = new FastSegFastSCNNFeatureFusion(64, 128, 128);
        classifier = new FastSegFastSCNNClassifier(128, numClasses);
        if (aux)
            auxlayer = Sequential(
                Conv2d(64, 64, 3, padding: 1, bias: false),
                BatchNorm2d(64),
                ReLU(inplace: true),
                Dropout(0.1),
                Conv2d(64, numClasses, 1));
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var higher = learning_to_downsample.call(input);
        var lower = global_feature_extractor.call(higher);
        var logits = classifier.call(feature_fusion.call(higher, lower));
        logits = FastSegOperators.Upsample(logits, input.shape[2..]);
        if (auxlayer is null || !training) return new SegmentationOutput(logits.MoveToOuterDisposeScope());
        var aux = auxlayer.call(higher);
        return new SegmentationOutput(logits.MoveToOuterDisposeScope(), new[] { aux.MoveToOuterDisposeScope() });
    }
}

/// <summary>
/// Fast_Seg's Fast-SCNN units that wrap a Sequential under the child <c>conv</c>: <c>_ConvBNReLU</c> (conv, BN, ReLU),
/// <c>_DSConv</c> (depthwise 3×3 conv, BN, ReLU, 1×1 conv, BN, ReLU) and <c>_DWConv</c> (depthwise 3×3 conv, BN, ReLU);
/// all convs without bias.
/// </summary>
public sealed class FastSegFastSCNNUnit : Module<Tensor, Tensor>
{
    private readonly Sequential conv;

    private FastSegFastSCNNUnit(string name, Sequential conv) : base(name)
    {
        this.conv = conv;
        RegisterComponents();
    }

    /// <summary><c>_ConvBNReLU</c>: k×k conv with the given stride and padding (default 0), BN, ReLU.</summary>
    public static FastSegFastSCNNUnit ConvBNReLU(long inChannels, long outChannels, long kernel = 3, long stride = 1, long padding = 0) =>
        new("_ConvBNReLU", Sequential(
            Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding, bias: false),
            BatchNorm2d(outChannels),
            ReLU(inplace: true)));

    /// <summary><c>_DSConv</c>: depthwise 3×3 (stride, padding 1), BN, ReLU, pointwise 1×1, BN, ReLU.</summary>
    public static FastSegFastSCNNUnit DSConv(long dwChannels, long outChannels, long stride = 1) =>
        new("_DSConv", Sequential(
            Conv2d(dwChannels, dwChannels, 3, stride: stride, padding: 1, groups: dwChannels, bias: false),
            BatchNorm2d(dwChannels),
            ReLU(inplace: true),
            Conv2d(dwChannels, outChannels, 1, bias: false),
            BatchNorm2d(outChannels),
            ReLU(inplace: true)));

    /// <summary><c>_DWConv</c>: 3×3 conv grouped by the input channels (stride, padding 1), BN, ReLU.</summary>
    public static FastSegFastSCNNUnit DWConv(long dwChannels, long outChannels, long stride = 1) =>
        new("_DWConv", Sequential(
            Conv2d(dwChannels, outChannels, 3, stride: stride, padding: 1, groups: dwChannels, bias: false),
            BatchNorm2d(outChannels),
            ReLU(inplace: true)));

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => conv.call(input);
}

/// <summary>Fast_Seg's <c>LearningToDownsample</c>: <c>conv</c> (3×3 stride 2, no padding), <c>dsconv1</c>, <c>dsconv2</c> (stride 2 each).</summary>
public sealed class FastSegFastSCNNLearningToDownsample : Module<Tensor, Tensor>
{
    private readonly FastSegFastSCNNUnit conv;
    private readonly FastSegFastSCNNUnit dsconv1;
    private readonly FastSegFastSCNNUnit dsconv2;

    /// <summary>Creates the module.</summary>
    public FastSegFastSCNNLearningToDownsample(long dwChannels1, long dwChannels2, long outChannels) : base("LearningToDownsample")
    {
        conv = FastSegFastSCNNUnit.ConvBNReLU(3, dwChannels1, 3, 2);
        dsconv1 = FastSegFastSCNNUnit.DSConv(dwChannels1, dwChannels2, 2);
        dsconv2 = FastSegFastSCNNUnit.DSConv(dwChannels2, outChannels, 2);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return dsconv2.call(dsconv1.call(conv.call(input))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Fast_Seg's <c>LinearBottleneck</c> (MobileNetV2 inverted residual) under the child <c>block</c>: 1×1
/// <c>_ConvBNReLU</c> expanding ×t, <c>_DWConv</c> with the stride, 1×1 conv + BN; the input is added when the stride
/// is 1 and the channels agree.
/// </summary>
public sealed class FastSegFastSCNNLinearBottleneck : Module<Tensor, Tensor>
{
    private readonly Sequential block;
    private readonly bool _shortcut;

    /// <summary>Creates the block.</summary>
    public FastSegFastSCNNLinearBottleneck(long inChannels, long outChannels, long t = 6, long stride = 2) : base("LinearBottleneck")
    {
        _shortcut = stride == 1 && inChannels == outChannels;
        block = Sequential(
            FastSegFastSCNNUnit.ConvBNReLU(inChannels, inChannels * t, 1),
            FastSegFastSCNNUnit.DWConv(inChannels * t, inChannels * t, stride),
            Conv2d(inChannels * t, outChannels, 1, bias: false),
            BatchNorm2d(outChannels));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var y = block.call(input);
        if (_shortcut) y = input + y;
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Fast_Seg's Fast-SCNN <c>PyramidPooling</c>: bins 1, 2, 3 and 6, each adaptive average pooling, a 1×1
/// <c>_ConvBNReLU</c> (<c>conv1</c>..<c>conv4</c>) to in / 4 channels and a resize back (bilinear, align_corners = true);
/// [input, bin 1, bin 2, bin 3, bin 6] concatenated and fused by the 1×1 <c>_ConvBNReLU</c> <c>out</c>.
/// </summary>
public sealed class FastSegFastSCNNPyramidPooling : Module<Tensor, Tensor>
{
    private static readonly long[] Bins = { 1, 2, 3, 6 };

    private readonly FastSegFastSCNNUnit conv1;
    private readonly FastSegFastSCNNUnit conv2;
    private readonly FastSegFastSCNNUnit conv3;
    private readonly FastSegFastSCNNUnit conv4;
    private readonly FastSegFastSCNNUnit @out;

    /// <summary>Creates the module.</summary>
    public FastSegFastSCNNPyramidPooling(long inChannels, long outChannels) : base("PyramidPooling")
    {
        long inter = inChannels / 4;
        conv1 = FastSegFastSCNNUnit.ConvBNReLU(inChannels, inter, 1);
        conv2 = FastSegFastSCNNUnit.ConvBNReLU(inChannels, inter, 1);
        conv3 = FastSegFastSCNNUnit.ConvBNReLU(inChannels, inter, 1);
        conv4 = FastSegFastSCNNUnit.ConvBNReLU(inChannels, inter, 1);
        @out = FastSegFastSCNNUnit.ConvBNReLU(inChannels * 2, outChannels, 1);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var convs = new[] { conv1, conv2, conv3, conv4 };
        var parts = new List<Tensor> { input };
        for (int i = 0; i < 4; i++)
            parts.Add(FastSegOperators.Upsample(convs[i].call(functional.adaptive_avg_pool2d(input, Bins[i])), size));
        return @out.call(cat(parts.ToArray(), 1)).MoveToOuterDisposeScope();
    }
}

/// <summary>Fast_Seg's <c>GlobalFeatureExtractor</c>: <c>bottleneck1..3</c> (stride 2, 2, 1) and <c>ppm</c>.</summary>
public sealed class FastSegFastSCNNGlobalFeatureExtractor : Module<Tensor, Tensor>
{
    private readonly Sequential bottleneck1;
    private readonly Sequential bottleneck2;
    private readonly Sequential bottleneck3;
    private readonly FastSegFastSCNNPyramidPooling ppm;

    /// <summary>Creates the module.</summary>
    public FastSegFastSCNNGlobalFeatureExtractor(long inChannels, long[] blockChannels, long outChannels, long t, int[] numBlocks)
        : base("GlobalFeatureExtractor")
    {
        bottleneck1 = Stage(inChannels, blockChannels[0], numBlocks[0], t, 2);
        bottleneck2 = Stage(blockChannels[0], blockChannels[1], numBlocks[1], t, 2);
        bottleneck3 = Stage(blockChannels[1], blockChannels[2], numBlocks[2], t, 1);
        ppm = new FastSegFastSCNNPyramidPooling(blockChannels[2], outChannels);
        RegisterComponents();
    }

    private static Sequential Stage(long inChannels, long outChannels, int blocks, long t, long stride)
    {
        var stage = Sequential(new FastSegFastSCNNLinearBottleneck(inChannels, outChannels, t, stride));
        for (int i = 1; i < blocks; i++) stage.append(new FastSegFastSCNNLinearBottleneck(outChannels, outChannels, t, 1));
        return stage;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = bottleneck3.call(bottleneck2.call(bottleneck1.call(input)));
        return ppm.call(x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Fast_Seg's Fast-SCNN <c>FeatureFusionModule</c>: the lower-resolution input ×4 (bilinear, align_corners = true,
/// by scale factor) → <c>dwconv</c> → <c>conv_lower_res</c> (1×1 with bias, BN); the higher-resolution input →
/// <c>conv_higher_res</c> (1×1 with bias, BN); ReLU of the sum.
/// </summary>
public sealed class FastSegFastSCNNFeatureFusion : Module<Tensor, Tensor, Tensor>
{
    private readonly FastSegFastSCNNUnit dwconv;
    private readonly Sequential conv_lower_res;
    private readonly Sequential conv_higher_res;
    private readonly Module<Tensor, Tensor> relu;

    /// <summary>Creates the module.</summary>
    public FastSegFastSCNNFeatureFusion(long higherChannels, long lowerChannels, long outChannels) : base("FeatureFusionModule")
    {
        dwconv = FastSegFastSCNNUnit.DWConv(lowerChannels, outChannels, 1);
        conv_lower_res = Sequential(Conv2d(outChannels, outChannels, 1), BatchNorm2d(outChannels));
        conv_higher_res = Sequential(Conv2d(higherChannels, outChannels, 1), BatchNorm2d(outChannels));
        relu = ReLU(inplace: true);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor higher, Tensor lower)
    {
        using var scope = NewDisposeScope();
        var low = conv_lower_res.call(dwconv.call(FastSegOperators.UpsampleBy(lower, 4)));
        var high = conv_higher_res.call(higher);
        return relu.call(high + low).MoveToOuterDisposeScope();
    }
}

/// <summary>Fast_Seg's Fast-SCNN <c>Classifer</c>: <c>dsconv1</c>, <c>dsconv2</c>, <c>conv</c> = [Dropout(0.1), 1×1 conv with bias].</summary>
public sealed class FastSegFastSCNNClassifier : Module<Tensor, Tensor>
{
    private readonly FastSegFastSCNNUnit dsconv1;
    private readonly FastSegFastSCNNUnit dsconv2;
    private readonly Sequential conv;

    /// <summary>Creates the classifier.</summary>
    public FastSegFastSCNNClassifier(long channels, long numClasses) : base("Classifer")
    {
        dsconv1 = FastSegFastSCNNUnit.DSConv(channels, channels, 1);
        dsconv2 = FastSegFastSCNNUnit.DSConv(channels, channels, 1);
        conv = Sequential(Dropout(0.1), Conv2d(channels, numClasses, 1));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return conv.call(dsconv2.call(dsconv1.call(input))).MoveToOuterDisposeScope();
    }
}
