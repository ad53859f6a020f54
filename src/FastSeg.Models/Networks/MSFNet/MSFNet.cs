using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// MSFNet (Si et al., "Real-Time Semantic Segmentation via Multiply Spatial Fusion Network", arXiv 1911.07217, 2019;
/// BMVC 2021), built from the paper because lxtGH/Fast_Seg, whose model list names it, ships only an empty stub.
/// A ResNet-18 encoder gives features at 1/4, 1/8, 1/16 and 1/32. Spatial Aware Pooling (SAP) average-pools every
/// stage's output down to each coarser resolution of the decoder; the Multi-features Fusion Module (MFM) concatenates
/// the features that share a resolution (1/8, 1/16, 1/32: spatial detail from shallow stages next to the larger
/// receptive fields of deep ones), reduces each group with a 1×1 conv, and fuses the groups top-down (bilinear
/// upsampling, sum, 3×3 conv) into one 1/8 map. Class Boundary Supervision (CBS) attaches two parallel, independent
/// heads to that map, each upsampled straight from 1/8 to the input size: the segmentation head and, in training with
/// aux enabled, a boundary head whose output is the auxiliary output (class boundaries, to be supervised with boundary
/// labels derived from the class labels; the training loss is a weighted sum of both). At inference only the
/// segmentation head runs.
/// </summary>
/// <remarks>
/// <para>
/// What the paper states and this network follows (its abstract, and two third-party summaries of its method — a
/// paper-review page and a survey's reading notes — which were all of it that could be consulted): the
/// Multi-features Fusion Module gathers spatial information and enlarges the receptive field by Spatial Aware Pooling
/// after the backbone's blocks and by fusing same-resolution features of different receptive fields; the final
/// prediction is an upsampling of a 1/8 feature map (output stride 8); Class Boundary Supervision is two parallel,
/// independent fast upsamplings of the fused features, one supervised with boundaries, the total loss a weighted sum.
/// Published figures: 77.1 % mIoU on the Cityscapes test set at 41 FPS for 1024×2048 input, and 75.4 %
/// mIoU at 91 FPS on the CamVid test set (the abstract does not name the GPU; later papers' comparison tables list
/// MSFNet under a 2080 Ti, which could not be checked against the paper here).
/// </para>
/// <para>
/// No reference code exists (lxtGH/Fast_Seg's <c>MSFNet.py</c> is an empty class whose header says the boundary part
/// was to be left out; here it is the optional aux head), and the paper's body — its figures, layer widths and
/// tables — was not available when this was written, so every choice below is ours. Each can be revisited against the
/// paper without touching the encoder:
/// </para>
/// <list type="bullet">
/// <item>Encoder: torchvision's ResNet-18 (state-dict keys <c>backbone.conv1…layer4</c>), so ImageNet weights load. A
/// light ImageNet backbone fits the paper's real-time setting, and ResNet-18 is the one Fast_Seg's own ResNet networks
/// (SwiftNet, BiSeNet) use; its four stages are the "blocks" after which SAP is applied.</item>
/// <item>SAP operator: repeated 3×3 average pooling with stride 2 and padding 1, not counting the padding
/// (<c>count_include_pad = false</c>), one application per halving. Overlapping windows keep neighbouring context
/// ("spatially aware") where a single k×k, stride-k pooling would tile the map; it has no parameters.</item>
/// <item>Which features are pooled where: every stage finer than a decoder level is pooled to it — level 1/8 gets
/// [layer1↓, layer2], level 1/16 [layer1↓↓, layer2↓, layer3], level 1/32 [layer1↓↓↓, layer2↓↓, layer3↓, layer4]
/// (shallow first in the concatenation). The decoder stops at 1/32 (no pooling below the encoder's last stride).</item>
/// <item>MFM widths and convs: each level's concatenation (192, 448, 960 channels) goes through a 1×1
/// Conv-BN-ReLU to 128 channels (<c>mfm.reduce8/16/32</c>); top-down, the coarser level is bilinearly resized
/// (align_corners = true, Fast_Seg's convention everywhere), added, and passed through a 3×3 Conv-BN-ReLU
/// (<c>mfm.fuse16</c>, <c>mfm.fuse8</c>). 128 channels keep the decoder a small fraction of the encoder's cost.</item>
/// <item>Heads: 3×3 Conv-BN-ReLU 128→64 and a biased 1×1 classifier (<c>seg_head</c>, <c>boundary_head</c>), each
/// followed by a single bilinear (align_corners = true) resize from 1/8 to the input size — the "fast upsampling".</item>
/// <item>Boundary output: one channel per class by default ("class boundaries"; option <c>boundary = binary</c> makes
/// it a single class-agnostic boundary channel). It is returned at input resolution, as the paper supervises the
/// upsampled map, and it exists only with aux enabled, so the default network carries no boundary weights.</item>
/// <item>Layer names follow Fast_Seg's <c>ConvBnRelu</c> (<c>conv</c>, <c>bn</c>, <c>relu</c>); batch-norm eps 1e-5;
/// ReLU everywhere (Fast_Seg networks take no activation choice).</item>
/// <item>Sizes: every stride-2 step (ResNet convs, its max pool, SAP) rounds up, and every resize goes to an explicit
/// size, so any input size works (input multiple 1); the output stride is 8 for sides divisible by 32.</item>
/// </list>
/// <para>
/// Our own figures, registered and tested in place of the paper's (its parameter and FLOP figures were not in the text
/// available, so there is nothing to compare them with here): 11,752,595 parameters for 19 classes without the
/// boundary head (ResNet-18's 11,176,512, the fusion module's 500,992, the segmentation head's 75,091; the class
/// boundary head adds another 75,091), and 85.8 G multiply-adds of convolutions at the paper's 1024×2048 input
/// (21.5 G at 1024×512), of which the encoder takes 75.8 G (88 %).
/// </para>
/// </remarks>
public sealed class MSFNet : SegmentationModel
{
    /// <summary>Stride of the fused map that the heads upsample (the paper's 1/8).</summary>
    public const int OutputStride = 8;

    /// <summary>Channels of the fused multi-feature maps.</summary>
    public const long FusionChannels = 128;

    /// <summary>Channels of the heads' hidden 3×3 conv.</summary>
    public const long HeadChannels = 64;

    private readonly ResNet backbone;
    private readonly MSFNetFusionModule mfm;
    private readonly MSFNetHead seg_head;
    private readonly MSFNetHead? boundary_head;

    /// <summary>Creates MSFNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="useBoundaryHead">Build the Class Boundary Supervision head (returned as the aux output in training).</param>
    /// <param name="binaryBoundary">One class-agnostic boundary channel instead of one per class.</param>
    public MSFNet(int numClasses, bool useBoundaryHead = false, bool binaryBoundary = false) : base(nameof(MSFNet), numClasses, 1)
    {
        backbone = new ResNet("resnet18");
        mfm = new MSFNetFusionModule(backbone.Channels.Select(c => (long)c).ToArray(), FusionChannels);
        seg_head = new MSFNetHead(FusionChannels, HeadChannels, numClasses);
        if (useBoundaryHead) boundary_head = new MSFNetHead(FusionChannels, HeadChannels, binaryBoundary ? 1 : numClasses);
        BoundaryChannels = useBoundaryHead ? (binaryBoundary ? 1 : numClasses) : 0;
        RegisterComponents();
    }

    /// <summary>Channels of the boundary output (0 when the boundary head is not built).</summary>
    public int BoundaryChannels { get; }

    /// <summary>
    /// The Multi-features Fusion Module's output (N, 128, ⌈H/8⌉, ⌈W/8⌉): the map both heads upsample. The caller owns it.
    /// </summary>
    public Tensor FusedFeatures(Tensor input)
    {
        CheckInput(input);
        using var scope = NewDisposeScope();
        var feats = backbone.ForwardFeatures(input);
        return mfm.call(feats).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        var fused = mfm.call(backbone.ForwardFeatures(input));
        var logits = Upsample(seg_head.call(fused), size);
        if (boundary_head is null || !training) return new SegmentationOutput(logits.MoveToOuterDisposeScope());
        var boundary = Upsample(boundary_head.call(fused), size);
        return new SegmentationOutput(logits.MoveToOuterDisposeScope(), new[] { boundary.MoveToOuterDisposeScope() });
    }

    private static Tensor Upsample(Tensor x, long[] size) =>
        functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true);
}

/// <summary>Fast_Seg's ConvBnRelu: conv (no bias) → batch norm → ReLU, children <c>conv</c>, <c>bn</c>, <c>relu</c>.</summary>
internal sealed class MSFNetConvBnRelu : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;
    private readonly Module<Tensor, Tensor> relu;

    public MSFNetConvBnRelu(long inChannels, long outChannels, long kernel) : base("ConvBnRelu")
    {
        conv = Conv2d(inChannels, outChannels, kernel, padding: kernel / 2, bias: false);
        bn = BatchNorm2d(outChannels);
        relu = ReLU();
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return relu.call(bn.call(conv.call(input))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Spatial Aware Pooling and the Multi-features Fusion Module: the four encoder stages (1/4 … 1/32) are pooled
/// (3×3, stride 2, padding 1, average over the window's valid cells) down to every coarser level among 1/8, 1/16 and
/// 1/32; per level the same-resolution maps are concatenated and reduced (1×1); levels are fused top-down (resize,
/// add, 3×3).
/// </summary>
internal sealed class MSFNetFusionModule : Module<Tensor[], Tensor>
{
    private readonly Module<Tensor, Tensor> sap;
    private readonly MSFNetConvBnRelu reduce8;
    private readonly MSFNetConvBnRelu reduce16;
    private readonly MSFNetConvBnRelu reduce32;
    private readonly MSFNetConvBnRelu fuse16;
    private readonly MSFNetConvBnRelu fuse8;

    public MSFNetFusionModule(long[] stageChannels, long channels) : base("MultiFeaturesFusionModule")
    {
        if (stageChannels.Length != 4) throw new ArgumentException("MSFNet's fusion expects four encoder stages", nameof(stageChannels));
        sap = AvgPool2d(3, stride: 2, padding: 1, count_include_pad: false);
        reduce8 = new MSFNetConvBnRelu(stageChannels[0] + stageChannels[1], channels, 1);
        reduce16 = new MSFNetConvBnRelu(stageChannels[0] + stageChannels[1] + stageChannels[2], channels, 1);
        reduce32 = new MSFNetConvBnRelu(stageChannels.Sum(), channels, 1);
        fuse16 = new MSFNetConvBnRelu(channels, channels, 3);
        fuse8 = new MSFNetConvBnRelu(channels, channels, 3);
        RegisterComponents();
    }

    public override Tensor forward(Tensor[] stages)
    {
        using var scope = NewDisposeScope();
        var (s4, s8, s16, s32) = (stages[0], stages[1], stages[2], stages[3]);
        var s4at8 = sap.call(s4);
        var s4at16 = sap.call(s4at8);
        var s4at32 = sap.call(s4at16);
        var s8at16 = sap.call(s8);
        var s8at32 = sap.call(s8at16);
        var s16at32 = sap.call(s16);
        var level8 = reduce8.call(torch.cat(new[] { s4at8, s8 }, 1));
        var level16 = reduce16.call(torch.cat(new[] { s4at16, s8at16, s16 }, 1));
        var level32 = reduce32.call(torch.cat(new[] { s4at32, s8at32, s16at32, s32 }, 1));
        var up32 = functional.interpolate(level32, level16.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        level16 = fuse16.call(level16 + up32);
        var up16 = functional.interpolate(level16, level8.shape[2..], mode: InterpolationMode.Bilinear, align_corners: true);
        return fuse8.call(level8 + up16).MoveToOuterDisposeScope();
    }
}

/// <summary>A prediction head on the fused 1/8 map: <c>conv</c> 3×3 Conv-BN-ReLU, then <c>cls</c> a biased 1×1 conv.</summary>
internal sealed class MSFNetHead : Module<Tensor, Tensor>
{
    private readonly MSFNetConvBnRelu conv;
    private readonly Conv2d cls;

    public MSFNetHead(long inChannels, long hiddenChannels, long outChannels) : base("MSFNetHead")
    {
        conv = new MSFNetConvBnRelu(inChannels, hiddenChannels, 3);
        cls = Conv2d(hiddenChannels, outChannels, 1, bias: true);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var hidden = conv.call(input);
        return cls.call(hidden);
    }
}
