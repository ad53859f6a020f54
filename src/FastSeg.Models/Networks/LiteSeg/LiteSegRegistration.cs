using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class LiteSegRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "liteseg",
        Title = "LiteSeg",
        Paper = "LiteSeg: A Novel Lightweight ConvNet for Semantic Segmentation (DICTA 2019)",
        Encoders = new[] { "mobilenet_v2", "resnet18", "resnet34", "resnet50", "resnet101" },
        DefaultEncoder = "mobilenet_v2",
        InputMultiple = 1,
        ReferenceParameters = 4_286_336,
        ReferenceMIoU = 76.10,
        ReferenceFps = 117,
    };

    public SegmentationModel Build(ModelOptions options) => new LiteSeg(options.NumClasses, options.Encoder!);
}
