using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class DDRNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "ddrnet",
        Title = "DDRNet",
        Paper = "Deep Dual-resolution Networks for Real-time and Accurate Semantic Segmentation of Road Scenes (arXiv 2021; IEEE T-ITS 2022)",
        Encoders = new[] { "23-slim", "23", "39" },
        DefaultEncoder = "23-slim",
        SupportsAux = true,
        InputMultiple = 1,
        ReferenceParameters = 5_542_624,
        ReferenceMIoU = 74.34,
        ReferenceFps = 233,
    };

    public SegmentationModel Build(ModelOptions options) => new DDRNet(options.NumClasses, options.Encoder!, options.Aux);
}
