using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Networks;

/// <summary>
/// PSPNet as lxtGH/Fast_Seg builds it (<c>libs/models/PSPNet.py</c>, <c>PSPNet_res50/101(num_classes)</c>),
/// registered as "fast_seg/pspnet": the dilated deep-stem <see cref="FastSegDilatedResNet"/> (ResNet-50 or -101,
/// output stride 8) whose modules sit at the top level of the state dict (<c>conv1</c> … <c>layer4</c>), then
/// <c>head</c> = [<see cref="FastSegPspModule"/>(2048 → 512), 1×1 conv to the classes with bias], and the
/// deep-supervision branch <c>dsn</c> on layer3 = [3×3 conv 1024→512 with bias, BN, ReLU, Dropout2d(0.1), 1×1 conv to
/// the classes with bias].
/// </summary>
/// <remarks>
/// <para>Quirks of Fast_Seg kept: the ceil-mode max pool of the stem gives odd feature sizes (65×129 logits for a
/// 512×1024 image); the pyramid pooling bottleneck is a 3×3 conv; no weight initialisation beyond PyTorch's defaults.</para>
/// <para>Deviations from Fast_Seg: its forward returns a list ([main] in eval, [main, dsn] in training) at about 1/8
/// of the input; here the main logits are resized to the input (bilinear, align_corners = true, as its
/// CriterionOhemDSN and val.py resize them), so any input size works. <c>dsn</c> is always in the state dict; in
/// training mode with auxiliary outputs enabled <see cref="SegmentationOutput.Aux"/> holds its logits at the
/// resolution Fast_Seg returns them (about 1/8; its losses weigh them 0.4). With auxiliary outputs disabled the
/// <c>dsn</c> branch is not evaluated in training (Fast_Seg evaluates it whenever training, which only updates its
/// batch-norm statistics).</para>
/// </remarks>
public sealed class FastSegPSPNet : SegmentationModel
{
    // The encoder's modules are registered directly on this network (Fast_Seg's PSPNet *is* the ResNet), so the
    // encoder object itself is not a submodule; it only runs them.
    [IgnoreComponent] private readonly FastSegDilatedResNet _encoder;
    private readonly Sequential head;
    private readonly Sequential dsn;
    private readonly bool _aux;

    /// <summary>Creates Fast_Seg's PSPNet.</summary>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="encoder">"resnet50" or "resnet101".</param>
    /// <param name="aux">Return the <c>dsn</c> logits in training mode.</param>
    public FastSegPSPNet(int numClasses, string encoder = "resnet50", bool aux = false) : base("PSPNet", numClasses, 1)
    {
        _aux = aux;
        _encoder = new FastSegDilatedResNet(encoder);
        foreach (var (name, child) in _encoder.named_children()) register_module(name, child);
        head = Sequential(new FastSegPspModule(2048, 512), Conv2d(512, numClasses, 1, bias: true));
        dsn = Sequential(
            Conv2d(1024, 512, 3, padding: 1, bias: true),
            BatchNorm2d(512),
            ReLU(),
            Dropout2d(0.1),
            Conv2d(512, numClasses, 1, bias: true));
        RegisterComponents();
    }

    /// <summary>The encoder variant ("resnet50" or "resnet101").</summary>
    public string Encoder => _encoder.Variant;

    /// <inheritdoc />
    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x3 = _encoder.layer3.call(_encoder.layer2.call(_encoder.layer1.call(_encoder.Stem(input))));
        var side = _aux && training ? dsn.call(x3) : null;
        var logits = head.call(_encoder.layer4.call(x3));
        logits = FastSegOperators.Upsample(logits, input.shape[2..]);
        if (side is null) return new SegmentationOutput(logits.MoveToOuterDisposeScope());
        return new SegmentationOutput(logits.MoveToOuterDisposeScope(), new[] { side.MoveToOuterDisposeScope() });
    }
}
