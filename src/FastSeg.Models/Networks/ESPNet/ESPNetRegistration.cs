using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class ESPNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "espnet",
        Title = "ESPNet",
        Paper = "ESPNet: Efficient Spatial Pyramid of Dilated Convolutions for Semantic Segmentation (ECCV 2018)",
        Encoders = ESPNet.Variants,
        DefaultEncoder = "espnet",
        InputMultiple = 8,
        ReferenceParameters = 377_137,
        ReferenceMIoU = 66.39,
        ReferenceFps = 111,
    };

    public SegmentationModel Build(ModelOptions options) => new ESPNet(options.NumClasses, options.Encoder!);
}
