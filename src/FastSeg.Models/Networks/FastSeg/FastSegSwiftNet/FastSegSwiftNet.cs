using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// SwiftNet as lxtGH/Fast_Seg builds it (<c>libs/models/SwiftNet.py</c>, <c>SwiftNetRes18(nclass, pretrained=False)</c>),
/// registered as "fast_seg/swiftnet". A torchvision-layout ResNet-18 (<c>conv1</c>, <c>bn1</c>, <c>relu</c>,
/// <c>maxpool</c>, <c>layer1..4</c> at the top level, so torchvision ImageNet weights load by key) feeds a ladder
/// decoder whose width is the number of classes: spatial pyramid pooling on layer4 (<c>spp</c>: BN-ReLU-1×1 to the
/// classes, three levels pooled to grids of 8, 4 and 2 rows with as many columns as the aspect ratio asks, each
/// BN-ReLU-1×1 to classes / 3 channels and resized back, then a BN-ReLU-1×1 fuse; batch-norm momentum 0.005), and three
/// <c>upsample</c> blocks for the layer3, layer2 and layer1 skips (BN-ReLU-1×1 of the skip to the classes, the coarser
/// map resized to it and added, BN-ReLU-3×3). The last block's output, at 1/4, is the logits. <c>dsn</c> (Fast_Seg's
/// deep-supervision head: 3×3 conv with bias, BN, ReLU, Dropout2d(0.1), 1×1 conv) reads layer3.
/// </summary>
/// <remarks>
/// <para>Quirks of Fast_Seg kept: the decoder is as wide as the number of classes (the paper uses 128), so at least 3
/// classes are needed (the pyramid levels get classes / 3 channels); the skips are meant to be the blocks'
/// pre-activation sums but Fast_Seg's in-place ReLU makes them the post-ReLU outputs, which is what is computed here;
/// the pyramid grid's column count is rounded half to even, as Python's round; every resize is bilinear with
/// align_corners = true; all convs start from Kaiming-normal (fan-out) weights.</para>
/// <para>Deviations from Fast_Seg: its forward returns a list ([main] in eval, [main, dsn] in training) with the
/// main logits at 1/4; here they are resized to the input (bilinear, align_corners = true, as its CriterionOhemDSN and
/// val.py resize them), so any input size works. <c>dsn</c> is always in the state dict; in training mode with
/// auxiliary outputs enabled <see cref="SegmentationOutput.Aux"/> holds its logits at 1/16 as Fast_Seg returns them
/// (its losses weigh them 0.4). With auxiliary outputs disabled <c>dsn</c> is not evaluated in training (Fast_Seg
/// evaluates it whenever training, which only updates its batch-norm statistics). Fast_Seg's constructor prints one
/// line per upsample block; this one prints nothing. <c>pretrained=True</c> (download of torchvision's ResNet-18) has no
/// counterpart: load those weights with <see cref="SegmentationModel.LoadWeights"/> and strict = false.</para>
/// </remarks>
public sealed class FastSegSwiftNet : SegmentationModel
{
    // The ResNet's modules are registered directly on this network (Fast_Seg's SwiftNet *is* the ResNet); the encoder
    // object itself is not a submodule.
    [IgnoreComponent] private readonly ResNet _encoder;
    private readonly Sequential dsn;
    private readonly FastSegSwiftNetSpp spp;
    private readonly ModuleList<FastSegSwiftNetUpsample> upsample;
    private readonly bool _aux;

    /// <summary>Creates Fast_Seg's SwiftNet on ResNet-18.</summary>
    /// <param name="numClasses">Output classes (also the decoder width; at least 3).</param>
    /// <param name="aux">Return the <c>dsn</c> logits in training mode.</param>
    public FastSegSwiftNet(int numClasses, bool aux = false) : base("SwiftNetResNet", numClasses, 1)
    {
        if (numClasses < 3)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses,
                "Fast_Seg's SwiftNet is as wide as the number of classes and gives each pyramid level classes / 3 channels, " +
                "so it needs at least 3 classes (Fast_Seg fails too)");
        _aux = aux;
        _encoder = new ResNet("resnet18");
        foreach (var (name, child) in _encoder.named_children()) register_module(name, child);
        dsn = FastSegOperators.Dsn(256, numClasses);
        spp = new FastSegSwiftNetSpp(512, 3, numClasses, numClasses / 3, numClasses, new long[] { 8, 4, 2, 1 }, 0.01 / 2);
        // Deepest skip first (layer3, layer2, layer1), the order in which Fast_Seg stores and runs them.
        upsample = ModuleList(new[] { 256L, 128, 64 }.Select(skip => new FastSegSwiftNetUpsample(numClasses, skip, numClasses)).ToArray());
        RegisterComponents();
        foreach (var m in modules())
            if (m is Conv2d c) init.kaiming_normal_(c.weight, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
    }

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var s1 = _encoder.layer1.call(_encoder.Stem(input));
        var s2 = _encoder.layer2.call(s1);
        var s3 = _encoder.layer3.call(s2);
        var side = _aux && training ? dsn.call(s3) : null;
        var x = spp.call(_encoder.layer4.call(s3));
        x = upsample[0].call(x, s3);
        x = upsample[1].call(x, s2);
        x = upsample[2].call(x, s1);
        x = FastSegOperators.Upsample(x, input.shape[2..]);
        if (side is null) return new SegmentationOutput(x.MoveToOuterDisposeScope());
        return new SegmentationOutput(x.MoveToOuterDisposeScope(), new[] { side.MoveToOuterDisposeScope() });
    }

    /// <summary>Fast_Seg's <c>_BNReluConv</c>: a Sequential of <c>norm</c> (BN), <c>relu</c> and <c>conv</c> (k×k, padding k / 2, no bias).</summary>
    internal static Sequential BNReluConv(long inChannels, long outChannels, long kernel, double bnMomentum = 0.1) =>
        Sequential(
            ("norm", BatchNorm2d(inChannels, momentum: bnMomentum)),
            ("relu", ReLU(inplace: true)),
            ("conv", Conv2d(inChannels, outChannels, kernel, padding: kernel / 2, bias: false)));
}

/// <summary>
/// Fast_Seg's SwiftNet spatial pyramid pooling (<c>SpatialPyramidPooling</c>), under the child <c>spp</c> =
/// [<c>spp_bn</c>, <c>spp0</c> … <c>spp{levels−1}</c>, <c>spp_fuse</c>], each a BN-ReLU-1×1 unit. The input is reduced
/// by <c>spp_bn</c>; level i average-pools that to (grid[i], max(1, round(grid[i] · W / H))) cells, applies its unit and
/// is resized back (bilinear, align_corners = true); the reduced map and the levels are concatenated and fused.
/// </summary>
public sealed class FastSegSwiftNetSpp : Module<Tensor, Tensor>
{
    private readonly Sequential spp;
    private readonly long[] _grids;
    private readonly int _levels;

    /// <summary>Creates the module.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="levels">Pooled levels.</param>
    /// <param name="bottleneck">Channels after <c>spp_bn</c>.</param>
    /// <param name="levelChannels">Channels of each level.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="grids">Rows of each level's grid (at least <paramref name="levels"/> values).</param>
    /// <param name="bnMomentum">Momentum of every batch norm in the module.</param>
    public FastSegSwiftNetSpp(long inChannels, int levels, long bottleneck, long levelChannels, long outChannels, long[] grids, double bnMomentum)
        : base("SpatialPyramidPooling")
    {
        _grids = grids;
        _levels = levels;
        var units = new List<(string, Module<Tensor, Tensor>)> { ("spp_bn", FastSegSwiftNet.BNReluConv(inChannels, bottleneck, 1, bnMomentum)) };
        for (int i = 0; i < levels; i++)
            units.Add(($"spp{i}", FastSegSwiftNet.BNReluConv(bottleneck, levelChannels, 1, bnMomentum)));
        units.Add(("spp_fuse", FastSegSwiftNet.BNReluConv(bottleneck + levels * levelChannels, outChannels, 1, bnMomentum)));
        spp = Sequential(units.ToArray());
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var size = input.shape[2..];
        double aspect = (double)size[1] / size[0];
        var x = spp[0].call(input);
        var levels = new List<Tensor> { x };
        for (int i = 0; i < _levels; i++)
        {
            long rows = _grids[i];
            long cols = Math.Max(1, (long)Math.Round(aspect * rows, MidpointRounding.ToEven));
            var pooled = functional.adaptive_avg_pool2d(x, new[] { rows, cols });
            levels.Add(FastSegOperators.Upsample(spp[i + 1].call(pooled), size));
        }
        return spp[_levels + 1].call(cat(levels.ToArray(), 1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Fast_Seg's SwiftNet decoder block (<c>_Upsample</c>): <c>bottleneck</c> (BN-ReLU-1×1) brings the skip to the
/// decoder width, the coarser map is resized to it (bilinear, align_corners = true) and added, and <c>blend_conv</c>
/// (BN-ReLU-3×3) mixes the sum.
/// </summary>
public sealed class FastSegSwiftNetUpsample : Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential bottleneck;
    private readonly Sequential blend_conv;

    /// <summary>Creates the block.</summary>
    public FastSegSwiftNetUpsample(long inChannels, long skipChannels, long outChannels, long kernel = 3) : base("_Upsample")
    {
        bottleneck = FastSegSwiftNet.BNReluConv(skipChannels, inChannels, 1);
        blend_conv = FastSegSwiftNet.BNReluConv(inChannels, outChannels, kernel);
        RegisterComponents();
    }

    /// <summary>Upsamples <paramref name="x"/> to <paramref name="skip"/>'s size, adds the projected skip, blends.</summary>
    public override Tensor forward(Tensor x, Tensor skip)
    {
        using var scope = NewDisposeScope();
        var s = bottleneck.call(skip);
        var sum = FastSegOperators.Upsample(x, s.shape[2..]) + s;
        return blend_conv.call(sum).MoveToOuterDisposeScope();
    }
}
