using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class FastSegPSPNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "fast_seg/pspnet",
        Title = "PSPNet (Fast_Seg)",
        Source = "fast_seg",
        Paper = "Pyramid Scene Parsing Network (CVPR 2017)",
        Encoders = new[] { "resnet50", "resnet101" },
        DefaultEncoder = "resnet50",
        SupportsAux = true,
        AuxLossWeights = new[] { 0.4 },
        InputMultiple = 1,
        ReferenceParameters = 51_445_222,
        // Fast_Seg publishes no figures for PSPNet.
        ReferenceMIoU = null,
        ReferenceFps = null,
    };

    public SegmentationModel Build(ModelOptions options) => new FastSegPSPNet(options.NumClasses, options.Encoder!, options.Aux);
}
