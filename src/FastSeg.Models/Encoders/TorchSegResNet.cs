using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Encoders;

/// <summary>
/// The TorchSeg-style ResNet of lxtGH/Fast_Seg (<c>libs/models/backbone/resnet.py</c>), with its state-dict names so
/// that Fast_Seg's (TorchSeg's) "deep" ResNet checkpoints load. With the deep stem, <c>conv1</c> is a Sequential of
/// [3×3 s2 conv 3→w, BN, ReLU, 3×3 conv w→w, BN, ReLU, 3×3 conv w→2w] (keys <c>conv1.0/.1/.3/.4/.6</c>) and
/// <c>bn1</c> normalises 2w channels; otherwise <c>conv1</c> is the plain 7×7 s2 conv to 64. Then ReLU, a 3×3 s2 max
/// pool and <c>layer1</c>..<c>layer4</c> of basic blocks or bottlenecks (stride on the 3×3, no dilation), returning the
/// four stages at strides 4, 8, 16, 32. The blocks are those of <see cref="ResNet"/> (same names and computation). With
/// a deep stem the first block of <c>layer1</c> starts from 2w channels, so BiSeNet's ResNet-18 (w = 64) has a 1×1
/// projection 128→64 there. There is no classifier. Convs keep PyTorch's default initialisation (Fast_Seg sets none).
/// </summary>
public sealed class TorchSegResNet : Module<Tensor, Tensor[]>, IEncoder
{
    /// <summary>The depths this encoder accepts.</summary>
    public static readonly string[] Variants = { "resnet18", "resnet34", "resnet50", "resnet101" };

    private readonly Module<Tensor, Tensor> conv1;
    private readonly BatchNorm2d bn1;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;

    /// <summary>Creates the encoder.</summary>
    /// <param name="variant">resnet18, resnet34, resnet50 or resnet101.</param>
    /// <param name="deepStem">Three 3×3 convs instead of the 7×7 stem.</param>
    /// <param name="stemWidth">Width w of the deep stem (its output has 2w channels).</param>
    public TorchSegResNet(string variant = "resnet18", bool deepStem = true, long stemWidth = 64) : base(nameof(TorchSegResNet))
    {
        var (bottleneck, blocks) = variant switch
        {
            "resnet18" => (false, new[] { 2, 2, 2, 2 }),
            "resnet34" => (false, new[] { 3, 4, 6, 3 }),
            "resnet50" => (true, new[] { 3, 4, 6, 3 }),
            "resnet101" => (true, new[] { 3, 4, 23, 3 }),
            _ => throw new ArgumentException($"unsupported TorchSeg ResNet '{variant}'; valid: {string.Join(", ", Variants)}", nameof(variant)),
        };
        long stemOut = deepStem ? stemWidth * 2 : 64;
        conv1 = deepStem
            ? Sequential(
                Conv2d(3, stemWidth, 3, stride: 2, padding: 1, bias: false),
                BatchNorm2d(stemWidth),
                ReLU(true),
                Conv2d(stemWidth, stemWidth, 3, padding: 1, bias: false),
                BatchNorm2d(stemWidth),
                ReLU(true),
                Conv2d(stemWidth, stemOut, 3, padding: 1, bias: false))
            : Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(stemOut);
        maxpool = MaxPool2d(3, stride: 2, padding: 1);
        long inplanes = stemOut;
        long expansion = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;
        Sequential Layer(long planes, int count, long stride)
        {
            var layer = Sequential();
            for (int i = 0; i < count; i++)
            {
                long s = i == 0 ? stride : 1;
                layer.append(bottleneck ? new Bottleneck(inplanes, planes, s) : new BasicBlock(inplanes, planes, s));
                inplanes = planes * expansion;
            }
            return layer;
        }
        layer1 = Layer(64, blocks[0], 1);
        layer2 = Layer(128, blocks[1], 2);
        layer3 = Layer(256, blocks[2], 2);
        layer4 = Layer(512, blocks[3], 2);
        RegisterComponents();
        Variant = variant;
        Channels = new[] { 64, 128, 256, 512 }.Select(c => (int)(c * expansion)).ToArray();
    }

    /// <summary>The depth name.</summary>
    public string Variant { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> Channels { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> Strides { get; } = new[] { 4, 8, 16, 32 };

    /// <inheritdoc />
    public override Tensor[] forward(Tensor input) => ForwardFeatures(input);

    /// <summary>The four stages (layer1..layer4), shallowest first; the caller owns them.</summary>
    public Tensor[] ForwardFeatures(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = maxpool.call(bn1.call(conv1.call(input)).relu_());
        var x1 = layer1.call(x);
        var x2 = layer2.call(x1);
        var x3 = layer3.call(x2);
        var x4 = layer4.call(x3);
        return new[] { x1.MoveToOuterDisposeScope(), x2.MoveToOuterDisposeScope(), x3.MoveToOuterDisposeScope(), x4.MoveToOuterDisposeScope() };
    }
}
