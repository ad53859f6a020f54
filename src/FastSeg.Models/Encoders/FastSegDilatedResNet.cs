using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Encoders;

/// <summary>
/// The dilated ResNet of Fast_Seg's PSPNet (lxtGH/Fast_Seg <c>libs/models/PSPNet.py</c>), which its ICNet uses too:
/// a "deep" stem of three 3×3 convs (3→64 stride 2, 64→64, 64→128, each with BN and ReLU, flat names conv1..conv3,
/// bn1..bn3, relu1..relu3), a 3×3 stride-2 max pool with ceil_mode = true, then bottleneck stages layer1 (64),
/// layer2 (128, stride 2), layer3 (256, stride 1, dilation 2) and layer4 (512, stride 1, dilation 4), so the output
/// stride is 8. Bottlenecks carry the stride on the 3×3 conv; a shortcut projection (1×1 conv + BN) is added where the
/// shape changes, which includes the first block of layer1 (128→256 channels).
/// </summary>
/// <remarks>
/// Quirk kept: because the max pool rounds up, sizes are not exact fractions of the input (a 512×1024 image gives
/// 65×129 features, not 64×128). The layout matches Fast_Seg's <c>resnet50-deep.pth</c> ImageNet checkpoint.
/// </remarks>
public class FastSegDilatedResNet : Module<Tensor, Tensor[]>, IEncoder
{
    /// <summary>The depths this encoder can be built with.</summary>
    public static readonly string[] Variants = { "resnet50", "resnet101" };

    /// <summary>Stem conv 1 (3×3, 3→64, stride 2).</summary>
    public readonly Conv2d conv1;
    /// <summary>Its batch norm.</summary>
    public readonly BatchNorm2d bn1;
    /// <summary>Its ReLU.</summary>
    public readonly Module<Tensor, Tensor> relu1;
    /// <summary>Stem conv 2 (3×3, 64→64).</summary>
    public readonly Conv2d conv2;
    /// <summary>Its batch norm.</summary>
    public readonly BatchNorm2d bn2;
    /// <summary>Its ReLU.</summary>
    public readonly Module<Tensor, Tensor> relu2;
    /// <summary>Stem conv 3 (3×3, 64→128).</summary>
    public readonly Conv2d conv3;
    /// <summary>Its batch norm.</summary>
    public readonly BatchNorm2d bn3;
    /// <summary>Its ReLU.</summary>
    public readonly Module<Tensor, Tensor> relu3;
    /// <summary>3×3 stride-2 max pool, padding 1, ceil mode.</summary>
    public readonly MaxPool2d maxpool;
    /// <summary>Stage 1 (256 channels, stride 4).</summary>
    public readonly Sequential layer1;
    /// <summary>Stage 2 (512 channels, stride 8).</summary>
    public readonly Sequential layer2;
    /// <summary>Stage 3 (1024 channels, stride 8, dilation 2).</summary>
    public readonly Sequential layer3;
    /// <summary>Stage 4 (2048 channels, stride 8, dilation 4).</summary>
    public readonly Sequential layer4;

    /// <summary>Creates the encoder with ResNet-50 ("resnet50") or ResNet-101 ("resnet101") depths.</summary>
    public FastSegDilatedResNet(string variant = "resnet50") : this(variant, nameof(FastSegDilatedResNet))
    {
    }

    /// <summary>Creates the encoder under a module type name (for subclasses that add modules after layer4).</summary>
    protected FastSegDilatedResNet(string variant, string name) : base(name)
    {
        int[] blocks = variant switch
        {
            "resnet50" => new[] { 3, 4, 6, 3 },
            "resnet101" => new[] { 3, 4, 23, 3 },
            _ => throw new ArgumentException($"Fast_Seg's dilated ResNet has no variant '{variant}'; valid: {string.Join(", ", Variants)}", nameof(variant)),
        };
        Variant = variant;
        conv1 = Conv2d(3, 64, 3, stride: 2, padding: 1, bias: false);
        bn1 = BatchNorm2d(64);
        relu1 = ReLU();
        conv2 = Conv2d(64, 64, 3, padding: 1, bias: false);
        bn2 = BatchNorm2d(64);
        relu2 = ReLU();
        conv3 = Conv2d(64, 128, 3, padding: 1, bias: false);
        bn3 = BatchNorm2d(128);
        relu3 = ReLU();
        maxpool = MaxPool2d(3, stride: 2, padding: 1, ceil_mode: true);
        long inplanes = 128;
        Sequential Layer(long planes, int count, long stride, long dilation)
        {
            var layer = Sequential();
            for (int i = 0; i < count; i++)
            {
                layer.append(new Bottleneck(inplanes, planes, i == 0 ? stride : 1, dilation));
                inplanes = planes * Bottleneck.Expansion;
            }
            return layer;
        }
        layer1 = Layer(64, blocks[0], 1, 1);
        layer2 = Layer(128, blocks[1], 2, 1);
        layer3 = Layer(256, blocks[2], 1, 2);
        layer4 = Layer(512, blocks[3], 1, 4);
        RegisterComponents();
    }

    /// <summary>"resnet50" or "resnet101".</summary>
    public string Variant { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> Channels { get; } = new[] { 256, 512, 1024, 2048 };

    /// <inheritdoc />
    public IReadOnlyList<int> Strides { get; } = new[] { 4, 8, 8, 8 };

    /// <summary>The stem: three conv-BN-ReLU units and the ceil-mode max pool (stride 4).</summary>
    public Tensor Stem(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = relu1.call(bn1.call(conv1.call(input)));
        x = relu2.call(bn2.call(conv2.call(x)));
        x = relu3.call(bn3.call(conv3.call(x)));
        return maxpool.call(x).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override Tensor[] forward(Tensor input) => ForwardFeatures(input);

    /// <inheritdoc />
    public Tensor[] ForwardFeatures(Tensor input)
    {
        using var stem = Stem(input);
        var x1 = layer1.call(stem);
        var x2 = layer2.call(x1);
        var x3 = layer3.call(x2);
        var x4 = layer4.call(x3);
        return new[] { x1, x2, x3, x4 };
    }
}

/// <summary>
/// The pyramid pooling module of Fast_Seg's <c>PSPNet.py</c> (not the one in its operators): for each bin size (1, 2,
/// 3, 6) a stage of adaptive average pooling, a 1×1 conv to <c>outChannels</c> (no bias) and BN (no ReLU), keyed
/// <c>stages.i.1</c>/<c>.2</c>; the stages are resized back (bilinear, align_corners = true) and concatenated before
/// the input, then the <c>bottleneck</c> = 3×3 conv (padding 1, no bias), BN, ReLU, Dropout2d(0.1).
/// </summary>
public sealed class FastSegPspModule : Module<Tensor, Tensor>
{
    private readonly ModuleList<Sequential> stages;
    private readonly Sequential bottleneck;

    /// <summary>Creates the module.</summary>
    public FastSegPspModule(long features, long outFeatures = 512, long[]? sizes = null) : base("PSPModule")
    {
        sizes ??= new long[] { 1, 2, 3, 6 };
        stages = ModuleList(sizes.Select(s => Sequential(
            AdaptiveAvgPool2d(s),
            Conv2d(features, outFeatures, 1, bias: false),
            BatchNorm2d(outFeatures))).ToArray());
        bottleneck = Sequential(
            Conv2d(features + sizes.Length * outFeatures, outFeatures, 3, padding: 1, bias: false),
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
        var priors = stages.Select(s => functional.interpolate(s.call(input), size, mode: InterpolationMode.Bilinear, align_corners: true))
            .Append(input).ToArray();
        return bottleneck.call(cat(priors, 1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Fast_Seg's <c>PSPHead</c> (<c>PSPHead_res50</c>), the backbone of its ICNet: the ResNet-50
/// <see cref="FastSegDilatedResNet"/> followed by a <see cref="FastSegPspModule"/>(2048 → 512) registered as
/// <c>head</c>, so the keys are <c>conv1…layer4</c> then <c>head.*</c>. ICNet calls the parts separately.
/// </summary>
public sealed class FastSegPspHead : FastSegDilatedResNet
{
    /// <summary>The pyramid pooling module on layer4.</summary>
    public readonly FastSegPspModule head;

    /// <summary>Creates the ResNet-50 PSPHead.</summary>
    public FastSegPspHead() : base("resnet50", "PSPHead")
    {
        head = new FastSegPspModule(2048, 512);
        RegisterComponents();
    }
}
