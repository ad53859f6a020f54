using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Encoders;

/// <summary>
/// DF-Net (Li et al., "Partial Order Pruning: for Best Speed/Accuracy Trade-off in Neural Architecture Search", CVPR
/// 2019) as lxtGH/Fast_Seg defines it (<c>libs/models/backbone/dfnet.py</c>), with its state-dict names so that
/// Fast_Seg's ImageNet checkpoints (df1_imagenet.pth, df2_imagenet.pth) load.
/// <list type="bullet">
/// <item><c>stage1</c>: 3×3 s2 conv 3→32, BN, ReLU, 3×3 s2 conv 32→64, BN, ReLU (stride 4), shared by both versions.</item>
/// <item>v1: <c>stage2</c> 64×3 (s2), <c>stage3</c> 128×3 (s2), <c>stage4</c> 256×3 (s2), <c>stage5</c> 512×1 (s1); it
/// returns stage3, stage4, stage5 = 128@1/16, 256@1/32, 512@1/32.</item>
/// <item>v2: <c>stage2_1</c> 64×2 (s2), <c>stage2_2</c> 128×1, <c>stage3_1</c> 128×10 (s2), <c>stage3_2</c> 256×1,
/// <c>stage4_1</c> 256×4 (s2), <c>stage4_2</c> 512×2; it returns 128@1/8, 256@1/16, 512@1/32.</item>
/// </list>
/// Stages are torchvision-style basic blocks (<see cref="BasicBlock"/>; 1×1 conv + BN projection when the shape
/// changes). Kept quirk: the ImageNet classifier <c>fc</c> (512→1000, 513,000 parameters) stays in the state dict
/// although segmentation never runs it (Fast_Seg's 7×7 average pool has no parameters and is left out). Convs are
/// initialised from N(0, √(2 / (k²·out))), as in Fast_Seg.
/// </summary>
public sealed class DFNet : Module<Tensor, Tensor[]>, IEncoder
{
    /// <summary>The versions this encoder accepts.</summary>
    public static readonly string[] Variants = { "dfnetv1", "dfnetv2" };

    private readonly Sequential stage1;
    private readonly Sequential? stage2;
    private readonly Sequential? stage3;
    private readonly Sequential? stage4;
    private readonly Sequential? stage5;
    private readonly Sequential? stage2_1;
    private readonly Sequential? stage2_2;
    private readonly Sequential? stage3_1;
    private readonly Sequential? stage3_2;
    private readonly Sequential? stage4_1;
    private readonly Sequential? stage4_2;
    private readonly Linear fc;

    /// <summary>Creates DF-Net v1 ("dfnetv1") or v2 ("dfnetv2").</summary>
    /// <param name="variant">"dfnetv1" or "dfnetv2".</param>
    /// <param name="numClasses">Outputs of the unused ImageNet classifier (1000 in Fast_Seg).</param>
    public DFNet(string variant, long numClasses = 1000) : base(nameof(DFNet))
    {
        if (!Variants.Contains(variant))
            throw new ArgumentException($"unsupported DF-Net '{variant}'; valid: {string.Join(", ", Variants)}", nameof(variant));
        Variant = variant;
        stage1 = Sequential(
            Conv2d(3, 32, 3, stride: 2, padding: 1, bias: false),
            BatchNorm2d(32),
            ReLU(true),
            Conv2d(32, 64, 3, stride: 2, padding: 1, bias: false),
            BatchNorm2d(64),
            ReLU(true));
        long inplanes = 64;
        Sequential Layer(long planes, int blocks, long stride)
        {
            var layer = Sequential();
            for (int i = 0; i < blocks; i++)
            {
                layer.append(new BasicBlock(inplanes, planes, i == 0 ? stride : 1));
                inplanes = planes;
            }
            return layer;
        }
        if (variant == "dfnetv1")
        {
            stage2 = Layer(64, 3, 2);
            stage3 = Layer(128, 3, 2);
            stage4 = Layer(256, 3, 2);
            stage5 = Layer(512, 1, 1);
            Strides = new[] { 16, 32, 32 };
        }
        else
        {
            stage2_1 = Layer(64, 2, 2);
            stage2_2 = Layer(128, 1, 1);
            stage3_1 = Layer(128, 10, 2);
            stage3_2 = Layer(256, 1, 1);
            stage4_1 = Layer(256, 4, 2);
            stage4_2 = Layer(512, 2, 1);
            Strides = new[] { 8, 16, 32 };
        }
        fc = Linear(512, numClasses);
        RegisterComponents();
        using (no_grad())
        {
            foreach (var m in modules())
            {
                if (m is Conv2d c)
                {
                    var k = c.weight.shape;
                    init.normal_(c.weight, 0, Math.Sqrt(2.0 / (k[2] * k[3] * k[0])));
                }
            }
        }
    }

    /// <summary>"dfnetv1" or "dfnetv2".</summary>
    public string Variant { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> Channels { get; } = new[] { 128, 256, 512 };

    /// <inheritdoc />
    public IReadOnlyList<int> Strides { get; }

    /// <summary>The names of the ImageNet classifier's parameters, which segmentation never uses.</summary>
    public static readonly string[] ClassifierParameters = { "fc.weight", "fc.bias" };

    /// <inheritdoc />
    public override Tensor[] forward(Tensor input) => ForwardFeatures(input);

    /// <summary>The three feature maps Fast_Seg's forward returns (x3, x4, x5); the caller owns them.</summary>
    public Tensor[] ForwardFeatures(Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor x3, x4, x5;
        var x = stage1.call(input);
        if (stage2 is not null)
        {
            x3 = stage3!.call(stage2.call(x));
            x4 = stage4!.call(x3);
            x5 = stage5!.call(x4);
        }
        else
        {
            x3 = stage2_2!.call(stage2_1!.call(x));
            x4 = stage3_2!.call(stage3_1!.call(x3));
            x5 = stage4_2!.call(stage4_1!.call(x4));
        }
        return new[] { x3.MoveToOuterDisposeScope(), x4.MoveToOuterDisposeScope(), x5.MoveToOuterDisposeScope() };
    }
}
