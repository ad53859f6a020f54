using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class BiSeNetv1Registration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "bisenetv1",
        Title = "BiSeNetv1",
        Paper = "BiSeNet: Bilateral Segmentation Network for Real-time Semantic Segmentation (ECCV 2018)",
        Encoders = new[] { "resnet18", "resnet34", "resnet50", "resnet101" },
        DefaultEncoder = "resnet18",
        InputMultiple = 32,
        ReferenceParameters = 13_315_392,
        ReferenceMIoU = 74.91,
        ReferenceFps = 88,
    };

    public SegmentationModel Build(ModelOptions options) => new BiSeNetv1(options.NumClasses, options.Encoder!);
}
