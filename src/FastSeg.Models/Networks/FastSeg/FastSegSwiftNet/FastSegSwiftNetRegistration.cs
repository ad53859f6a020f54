using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class FastSegSwiftNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "fast_seg/swiftnet",
        Title = "SwiftNet (Fast_Seg)",
        Source = "fast_seg",
        Paper = "In Defense of Pre-trained ImageNet Architectures for Real-time Semantic Segmentation of Road-driving Images (CVPR 2019)",
        SupportsAux = true,
        AuxLossWeights = new[] { 0.4 },
        InputMultiple = 1,
        ReferenceParameters = 11_803_241,
        // Fast_Seg publishes no figures for SwiftNet.
        ReferenceMIoU = null,
        ReferenceFps = null,
    };

    public SegmentationModel Build(ModelOptions options) => new FastSegSwiftNet(options.NumClasses, options.Aux);
}
