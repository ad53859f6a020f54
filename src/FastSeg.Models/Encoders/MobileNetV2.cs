using FastSeg.Torch;
using FastSeg.Torch.Modules;
using FastSeg.Models.Blocks;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Encoders;

/// <summary>torchvision's MobileNetV2 inverted residual, with its names (<c>conv.0.0.weight</c>, ...).</summary>
public sealed class InvertedResidual : Module<Tensor, Tensor>
{
    private readonly Sequential conv;
    private readonly bool _residual;

    /// <summary>Creates the block: expand (1×1, ReLU6) unless t = 1, depthwise 3×3 (ReLU6), project (1×1, linear).</summary>
    public InvertedResidual(long inp, long oup, long stride, long expandRatio) : base(nameof(InvertedResidual))
    {
        long hidden = (long)Math.Round((double)(inp * expandRatio));
        _residual = stride == 1 && inp == oup;
        conv = Sequential();
        if (expandRatio != 1) conv.append(ConvBNReLU6(inp, hidden, 1, 1, 1));
        conv.append(ConvBNReLU6(hidden, hidden, 3, stride, hidden));
        conv.append(Conv2d(hidden, oup, 1, bias: false));
        conv.append(BatchNorm2d(oup));
        RegisterComponents();
    }

    internal static Sequential ConvBNReLU6(long inp, long oup, long kernel, long stride, long groups) =>
        Sequential(Conv2d(inp, oup, kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false),
            BatchNorm2d(oup), ReLU6());

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var y = conv.call(input);
        if (!_residual) return y;
        using (y) return y + input;
    }
}

/// <summary>
/// torchvision's MobileNetV2 features sliced into four stages as the reference does (layer1 = features[0:4] at
/// stride 4, layer2 = [4:7] at 8, layer3 = [7:14] at 16, layer4 = [14:18] at 32; the 1280-channel head is dropped).
/// The slices keep torchvision's indices, so <c>layer2.4.conv.0.0.weight</c> is torchvision's
/// <c>features.4.conv.0.0.weight</c>.
/// </summary>
public sealed class MobileNetV2 : Module<Tensor, Tensor[]>, IEncoder
{
    private static readonly (int t, int c, int n, int s)[] Settings =
        { (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1) };

    /// <summary>features[0:4].</summary>
    public Sequential layer1;
    /// <summary>features[4:7].</summary>
    public Sequential layer2;
    /// <summary>features[7:14].</summary>
    public Sequential layer3;
    /// <summary>features[14:18].</summary>
    public Sequential layer4;

    /// <summary>Creates the encoder with torchvision's initialisation.</summary>
    public MobileNetV2() : base("Mobilenetv2")
    {
        var features = new List<Module<Tensor, Tensor>> { InvertedResidual.ConvBNReLU6(3, 32, 3, 2, 1) };
        long input = 32;
        foreach (var (t, c, n, s) in Settings)
        {
            for (int i = 0; i < n; i++)
            {
                features.Add(new InvertedResidual(input, c, i == 0 ? s : 1, t));
                input = c;
            }
        }
        Sequential Slice(int from, int to) =>
            Sequential(Enumerable.Range(from, to - from).Select(i => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), features[i])).ToArray());
        layer1 = Slice(0, 4);
        layer2 = Slice(4, 7);
        layer3 = Slice(7, 14);
        layer4 = Slice(14, 18);
        RegisterComponents();
        foreach (var m in modules())
        {
            if (m is Conv2d conv)
            {
                init.kaiming_normal_(conv.weight, mode: init.FanInOut.FanOut);
                if (conv.bias is not null) init.zeros_(conv.bias);
            }
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<int> Channels { get; } = new[] { 24, 32, 96, 320 };

    /// <inheritdoc />
    public IReadOnlyList<int> Strides { get; } = new[] { 4, 8, 16, 32 };

    /// <inheritdoc />
    public override Tensor[] forward(Tensor input) => ForwardFeatures(input);

    /// <inheritdoc />
    public Tensor[] ForwardFeatures(Tensor input)
    {
        var x1 = layer1.call(input);
        var x2 = layer2.call(x1);
        var x3 = layer3.call(x2);
        var x4 = layer4.call(x3);
        return new[] { x1, x2, x3, x4 };
    }

    /// <summary>
    /// Maps a torchvision MobileNetV2 ImageNet state dict onto this encoder: <c>features.i.*</c> becomes
    /// <c>layerK.i.*</c>; features[18] and the classifier are dropped.
    /// </summary>
    public static Dictionary<string, Tensor> FromTorchvision(IReadOnlyDictionary<string, Tensor> torchvision)
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (key, value) in torchvision)
        {
            if (!key.StartsWith("features.", StringComparison.Ordinal)) continue;
            var rest = key["features.".Length..];
            int dot = rest.IndexOf('.');
            int index = int.Parse(rest[..dot], System.Globalization.CultureInfo.InvariantCulture);
            string? layer = index switch { < 4 => "layer1", < 7 => "layer2", < 14 => "layer3", < 18 => "layer4", _ => null };
            if (layer is not null) result[$"{layer}.{rest}"] = value;
        }
        return result;
    }
}
