using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class SwiftNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "swiftnet",
        Title = "SwiftNet",
        Paper = "In Defense of Pre-trained ImageNet Architectures for Real-time Semantic Segmentation of Road-driving Images (CVPR 2019)",
        Encoders = new[] { "resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v2" },
        DefaultEncoder = "resnet18",
        InputMultiple = 32,
        ReferenceParameters = 11_945_574,
        ReferenceMIoU = 75.43,
        ReferenceFps = 141,
    };

    public SegmentationModel Build(ModelOptions options) => new SwiftNet(options.NumClasses, options.Encoder!);
}
