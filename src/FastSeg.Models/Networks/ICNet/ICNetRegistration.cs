using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class ICNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "icnet",
        Title = "ICNet",
        Paper = "ICNet for Real-Time Semantic Segmentation on High-Resolution Images (ECCV 2018)",
        Encoders = new[] { "resnet18", "resnet34", "resnet50", "resnet101" },
        DefaultEncoder = "resnet18",
        SupportsAux = true,
        InputMultiple = 32,
        ReferenceParameters = 12_421_088,
        ReferenceMIoU = 69.65,
        ReferenceFps = 102,
    };

    public SegmentationModel Build(ModelOptions options) => new ICNet(options.NumClasses, options.Encoder!, options.Aux);
}
