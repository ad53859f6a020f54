using FastSeg.Models.Encoders;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class LinkNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "linknet",
        Title = "LinkNet",
        Paper = "LinkNet: Exploiting Encoder Representations for Efficient Semantic Segmentation (VCIP 2017)",
        Encoders = new[] { "resnet18", "resnet34", "resnet50", "resnet101" },
        DefaultEncoder = "resnet18",
        InputMultiple = 32,
        ReferenceParameters = 11_538_969,
        ReferenceMIoU = 73.39,
        ReferenceFps = 106,
    };

    public SegmentationModel Build(ModelOptions options) => new LinkNet(options.NumClasses, options.Encoder!);
}
