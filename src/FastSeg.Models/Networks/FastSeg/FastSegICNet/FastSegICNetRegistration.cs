using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class FastSegICNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "fast_seg/icnet",
        Title = "ICNet (Fast_Seg)",
        Source = "fast_seg",
        Paper = "ICNet for Real-Time Semantic Segmentation on High-Resolution Images (ECCV 2018)",
        SupportsAux = true,
        AuxLossWeights = new[] { 0.4, 0.4, 0.4 },
        InputMultiple = 8,
        ReferenceParameters = 47_489_184,
        // Fast_Seg's README: "74.5% mIoU" for its released icnet_final.pth (split and protocol not stated; its eval
        // recipe is Cityscapes val, single scale, whole image). No speed is published.
        ReferenceMIoU = 74.5,
        ReferenceFps = null,
    };

    public SegmentationModel Build(ModelOptions options) => new FastSegICNet(options.NumClasses, options.Aux);
}
