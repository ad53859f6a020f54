using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Encoders;

/// <summary>torchvision's ResNet basic block (two 3×3 convs), with torchvision's names.</summary>
public sealed class BasicBlock : Module<Tensor, Tensor>
{
    /// <summary>Channel expansion of the block's output.</summary>
    public const int Expansion = 1;

    /// <summary>First 3×3 conv (carries the stride).</summary>
    public Conv2d conv1;
    /// <summary>Its batch norm.</summary>
    public BatchNorm2d bn1;
    /// <summary>Second 3×3 conv.</summary>
    public Conv2d conv2;
    /// <summary>Its batch norm.</summary>
    public BatchNorm2d bn2;
    /// <summary>1×1 conv + BN on the shortcut when the shape changes, else null.</summary>
    public Sequential? downsample;

    /// <summary>Creates a block from <paramref name="inplanes"/> to <paramref name="planes"/> channels.</summary>
    public BasicBlock(long inplanes, long planes, long stride = 1, long dilation = 1) : base(nameof(BasicBlock))
    {
        conv1 = Conv2d(inplanes, planes, 3, stride: stride, padding: dilation, dilation: dilation, bias: false);
        bn1 = BatchNorm2d(planes);
        conv2 = Conv2d(planes, planes, 3, padding: dilation, dilation: dilation, bias: false);
        bn2 = BatchNorm2d(planes);
        if (stride != 1 || inplanes != planes)
            downsample = Sequential(Conv2d(inplanes, planes, 1, stride: stride, bias: false), BatchNorm2d(planes));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var y = bn1.call(conv1.call(input)).relu_();
        y = bn2.call(conv2.call(y));
        var identity = downsample is null ? input : downsample.call(input);
        return y.add_(identity).relu_().MoveToOuterDisposeScope();
    }
}

/// <summary>torchvision's ResNet bottleneck (1×1, 3×3 with the stride, 1×1 ×4), with torchvision's names.</summary>
public sealed class Bottleneck : Module<Tensor, Tensor>
{
    /// <summary>Channel expansion of the block's output.</summary>
    public const int Expansion = 4;

    /// <summary>1×1 reduce.</summary>
    public Conv2d conv1;
    /// <summary>Its batch norm.</summary>
    public BatchNorm2d bn1;
    /// <summary>3×3 (carries the stride).</summary>
    public Conv2d conv2;
    /// <summary>Its batch norm.</summary>
    public BatchNorm2d bn2;
    /// <summary>1×1 expand.</summary>
    public Conv2d conv3;
    /// <summary>Its batch norm.</summary>
    public BatchNorm2d bn3;
    /// <summary>1×1 conv + BN on the shortcut when the shape changes, else null.</summary>
    public Sequential? downsample;

    /// <summary>Creates a block from <paramref name="inplanes"/> to 4·<paramref name="planes"/> channels.</summary>
    public Bottleneck(long inplanes, long planes, long stride = 1, long dilation = 1) : base(nameof(Bottleneck))
    {
        conv1 = Conv2d(inplanes, planes, 1, bias: false);
        bn1 = BatchNorm2d(planes);
        conv2 = Conv2d(planes, planes, 3, stride: stride, padding: dilation, dilation: dilation, bias: false);
        bn2 = BatchNorm2d(planes);
        conv3 = Conv2d(planes, planes * Expansion, 1, bias: false);
        bn3 = BatchNorm2d(planes * Expansion);
        if (stride != 1 || inplanes != planes * Expansion)
            downsample = Sequential(Conv2d(inplanes, planes * Expansion, 1, stride: stride, bias: false), BatchNorm2d(planes * Expansion));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var y = bn1.call(conv1.call(input)).relu_();
        y = bn2.call(conv2.call(y)).relu_();
        y = bn3.call(conv3.call(y));
        var identity = downsample is null ? input : downsample.call(input);
        return y.add_(identity).relu_().MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A torchvision ResNet without its classifier (the reference's <c>backbone.ResNet</c>): conv1, bn1, relu, maxpool,
/// layer1..layer4, returning the four stages at strides 4, 8, 16, 32. torchvision ImageNet checkpoints load by
/// key (see <see cref="FromTorchvision"/>).
/// </summary>
public sealed class ResNet : Module<Tensor, Tensor[]>, IEncoder
{
    /// <summary>The names this encoder accepts.</summary>
    public static readonly string[] Variants = { "resnet18", "resnet34", "resnet50", "resnet101", "resnet152" };

    /// <summary>Stem 7×7 conv, stride 2.</summary>
    public Conv2d conv1;
    /// <summary>Stem batch norm.</summary>
    public BatchNorm2d bn1;
    /// <summary>Stem activation.</summary>
    public Module<Tensor, Tensor> relu;
    /// <summary>Stem 3×3 max pool, stride 2.</summary>
    public MaxPool2d maxpool;
    /// <summary>Stage 1 (stride 4).</summary>
    public Sequential layer1;
    /// <summary>Stage 2 (stride 8).</summary>
    public Sequential layer2;
    /// <summary>Stage 3 (stride 16).</summary>
    public Sequential layer3;
    /// <summary>Stage 4 (stride 32).</summary>
    public Sequential layer4;

    /// <summary>Creates resnet18/34/50/101/152 with torchvision's initialisation.</summary>
    public ResNet(string variant) : base(nameof(ResNet))
    {
        var (bottleneck, blocks) = variant switch
        {
            "resnet18" => (false, new[] { 2, 2, 2, 2 }),
            "resnet34" => (false, new[] { 3, 4, 6, 3 }),
            "resnet50" => (true, new[] { 3, 4, 6, 3 }),
            "resnet101" => (true, new[] { 3, 4, 23, 3 }),
            "resnet152" => (true, new[] { 3, 8, 36, 3 }),
            _ => throw new ArgumentException($"unsupported ResNet '{variant}'; valid: {string.Join(", ", Variants)}", nameof(variant)),
        };
        Variant = variant;
        IsBottleneck = bottleneck;
        conv1 = Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(64);
        relu = ReLU();
        maxpool = MaxPool2d(3, stride: 2, padding: 1);
        long inplanes = 64;
        Sequential Layer(long planes, int count, long stride)
        {
            var layer = Sequential();
            for (int i = 0; i < count; i++)
            {
                layer.append(bottleneck
                    ? new Bottleneck(inplanes, planes, i == 0 ? stride : 1)
                    : new BasicBlock(inplanes, planes, i == 0 ? stride : 1));
                inplanes = planes * (bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion);
            }
            return layer;
        }
        layer1 = Layer(64, blocks[0], 1);
        layer2 = Layer(128, blocks[1], 2);
        layer3 = Layer(256, blocks[2], 2);
        layer4 = Layer(512, blocks[3], 2);
        RegisterComponents();
        int e = bottleneck ? 4 : 1;
        Channels = new[] { 64 * e, 128 * e, 256 * e, 512 * e };
        InitialiseLikeTorchvision();
    }

    /// <summary>The variant name.</summary>
    public string Variant { get; }

    /// <summary>Whether the blocks are bottlenecks (ResNet-50 and deeper).</summary>
    public bool IsBottleneck { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> Channels { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> Strides { get; } = new[] { 4, 8, 16, 32 };

    private void InitialiseLikeTorchvision()
    {
        foreach (var m in modules())
        {
            if (m is Conv2d c) init.kaiming_normal_(c.weight, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
        }
    }

    /// <summary>The stem: conv1 → bn1 → relu → maxpool (stride 4).</summary>
    public Tensor Stem(Tensor input)
    {
        using var scope = NewDisposeScope();
        return maxpool.call(relu.call(bn1.call(conv1.call(input)))).MoveToOuterDisposeScope();
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

    /// <summary>
    /// Keeps the entries of a torchvision ResNet ImageNet state dict that this encoder has (everything but fc.*),
    /// so <c>encoder.load_state_dict(ResNet.FromTorchvision(sd))</c> loads it.
    /// </summary>
    public static Dictionary<string, Tensor> FromTorchvision(IReadOnlyDictionary<string, Tensor> torchvision) =>
        torchvision.Where(e => !e.Key.StartsWith("fc.", StringComparison.Ordinal)).ToDictionary(e => e.Key, e => e.Value);
}
