using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Encoders;

/// <summary>
/// segmentation_models.pytorch's ResNet encoder: a torchvision ResNet (keys <c>conv1</c>, <c>bn1</c>,
/// <c>layer1</c>..<c>layer4</c>, exactly torchvision's, so its ImageNet checkpoints load once <c>fc.*</c> is dropped;
/// see <see cref="ResNet.FromTorchvision"/>) that returns <c>depth + 1</c> features, shallowest first: the input
/// itself, the stem after its ReLU (stride 2), layer1 after the max pool (stride 4), layer2, layer3 and layer4
/// (strides 8, 16, 32). Decoders read <see cref="OutChannels"/> rather than assuming a ResNet width.
/// </summary>
/// <remarks>
/// Quirks of the reference kept here: every stage is built whatever the depth (SMP only stops the forward early), so
/// a depth-3 encoder (SMP's PSPNet) carries layer3 and layer4 weights that nothing uses; and a dilated encoder
/// (output stride 16 or 8) turns every convolution of the affected stages, the shortcut 1×1s included, to stride 1 and
/// gives them all the same dilation (2 for layer4 at stride 16; 2 for layer3 and 4 for layer4 at stride 8), unlike
/// torchvision's own dilation, which keeps the first block of a stage at the previous rate.
/// </remarks>
public sealed class SmpResNetEncoder : Module<Tensor, Tensor[]>, IEncoder
{
    /// <summary>The encoder names this class builds (SMP's names, which are torchvision's).</summary>
    public static readonly string[] Names = { "resnet18", "resnet34", "resnet50", "resnet101", "resnet152" };

    /// <summary>SMP's default encoder.</summary>
    public const string DefaultName = "resnet34";

    /// <summary>Stem 7×7 conv, stride 2.</summary>
    public Conv2d conv1;
    /// <summary>Stem batch norm.</summary>
    public BatchNorm2d bn1;
    /// <summary>Stem activation.</summary>
    public Module<Tensor, Tensor> relu;
    /// <summary>3×3 max pool, stride 2 (applied before layer1).</summary>
    public MaxPool2d maxpool;
    /// <summary>Stage 1 (stride 4).</summary>
    public Sequential layer1;
    /// <summary>Stage 2 (stride 8).</summary>
    public Sequential layer2;
    /// <summary>Stage 3 (stride 16, or 8 when dilated for output stride 8).</summary>
    public Sequential layer3;
    /// <summary>Stage 4 (stride 32, or 16/8 when dilated).</summary>
    public Sequential layer4;

    /// <summary>Creates the encoder.</summary>
    /// <param name="name">resnet18, resnet34, resnet50, resnet101 or resnet152.</param>
    /// <param name="depth">Number of stages whose features are returned (3 to 5).</param>
    /// <param name="outputStride">32, or 16 / 8 to dilate the last one / two stages instead of striding.</param>
    public SmpResNetEncoder(string name, int depth = 5, int outputStride = 32) : base("ResNetEncoder")
    {
        ArgumentNullException.ThrowIfNull(name);
        var (bottleneck, blocks) = name switch
        {
            "resnet18" => (false, new[] { 2, 2, 2, 2 }),
            "resnet34" => (false, new[] { 3, 4, 6, 3 }),
            "resnet50" => (true, new[] { 3, 4, 6, 3 }),
            "resnet101" => (true, new[] { 3, 4, 23, 3 }),
            "resnet152" => (true, new[] { 3, 8, 36, 3 }),
            _ => throw new ArgumentException($"unsupported SMP encoder '{name}'; valid: {string.Join(", ", Names)}", nameof(name)),
        };
        if (depth is < 3 or > 5) throw new ArgumentOutOfRangeException(nameof(depth), depth, "the encoder depth must be 3, 4 or 5");
        if (outputStride is not (8 or 16 or 32))
            throw new ArgumentOutOfRangeException(nameof(outputStride), outputStride, "the output stride must be 8, 16 or 32");
        EncoderName = name;
        Depth = depth;
        // Dilation of layer3 and layer4 (1 = strided as in torchvision).
        int dilation3 = outputStride == 8 ? 2 : 1;
        int dilation4 = outputStride == 8 ? 4 : outputStride == 16 ? 2 : 1;

        conv1 = Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(64);
        relu = ReLU();
        maxpool = MaxPool2d(3, stride: 2, padding: 1);
        long inplanes = 64;
        Sequential Stage(long planes, int count, long stride, long dilation)
        {
            var stage = Sequential();
            for (int i = 0; i < count; i++)
            {
                // A dilated stage has stride 1 in every block, and the same dilation in every block.
                long s = dilation > 1 ? 1 : i == 0 ? stride : 1;
                stage.append(bottleneck
                    ? new Bottleneck(inplanes, planes, s, dilation)
                    : new BasicBlock(inplanes, planes, s, dilation));
                inplanes = planes * (bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion);
            }
            return stage;
        }
        layer1 = Stage(64, blocks[0], 1, 1);
        layer2 = Stage(128, blocks[1], 2, 1);
        layer3 = Stage(256, blocks[2], 2, dilation3);
        layer4 = Stage(512, blocks[3], 2, dilation4);
        RegisterComponents();

        int e = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;
        var all = new[] { 3, 64, 64 * e, 128 * e, 256 * e, 512 * e };
        OutChannels = all.Take(depth + 1).ToArray();
        OutputStride = Math.Min(outputStride, 1 << depth);
        AllStrides = new[] { 1, 2, 4, 8, Math.Min(16, outputStride), outputStride }.Take(depth + 1).ToArray();
        foreach (var m in modules())
            if (m is Conv2d c) init.kaiming_normal_(c.weight, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
    }

    /// <summary>The encoder's name (e.g. "resnet34").</summary>
    public string EncoderName { get; }

    /// <summary>Number of stages whose features are returned.</summary>
    public int Depth { get; }

    /// <summary>
    /// Channels of each returned feature, the input first (SMP's <c>out_channels</c>): (3, 64, 64, 128, 256, 512)
    /// for resnet18/34, (3, 64, 256, 512, 1024, 2048) for the bottleneck ResNets, cut to depth + 1.
    /// </summary>
    public IReadOnlyList<int> OutChannels { get; }

    /// <summary>The stride of the deepest returned feature (SMP's <c>output_stride</c>): min(output stride, 2^depth).</summary>
    public int OutputStride { get; }

    private IReadOnlyList<int> AllStrides { get; }

    /// <summary>Channels of the returned features after the input (<see cref="OutChannels"/> without its first entry).</summary>
    public IReadOnlyList<int> Channels => OutChannels.Skip(1).ToArray();

    /// <summary>Strides of the returned features after the input (2, 4, 8, 16, 32 when not dilated).</summary>
    public IReadOnlyList<int> Strides => AllStrides.Skip(1).ToArray();

    /// <inheritdoc />
    public override Tensor[] forward(Tensor input) => Features(input);

    /// <summary>The features after the input (the <see cref="IEncoder"/> contract); the caller owns them.</summary>
    public Tensor[] ForwardFeatures(Tensor input)
    {
        var all = Features(input);
        all[0].Dispose();
        return all[1..];
    }

    /// <summary>
    /// SMP's forward: depth + 1 features, the first an alias of the input, then the stem (after ReLU), layer1 (after
    /// the max pool), layer2, ...; the caller owns them.
    /// </summary>
    public Tensor[] Features(Tensor input)
    {
        var result = new Tensor[Depth + 1];
        result[0] = input.alias();
        using (var c = conv1.call(input))
        using (var b = bn1.call(c))
            result[1] = relu.call(b);
        using (var pooled = maxpool.call(result[1])) result[2] = layer1.call(pooled);
        result[3] = layer2.call(result[2]);
        if (Depth >= 4) result[4] = layer3.call(result[3]);
        if (Depth >= 5) result[5] = layer4.call(result[4]);
        return result;
    }
}
