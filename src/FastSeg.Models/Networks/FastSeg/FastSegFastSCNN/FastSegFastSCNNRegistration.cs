using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class FastSegFastSCNNRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "fast_seg/fastscnn",
        Title = "Fast-SCNN (Fast_Seg)",
        Source = "fast_seg",
        Paper = "Fast-SCNN: Fast Semantic Segmentation Network (BMVC 2019)",
        SupportsAux = true,
        AuxLossWeights = new[] { 0.4 },
        InputMultiple = 32,
        // Without the auxiliary head (Fast_Seg's aux=False); with it, 1,176,278.
        ReferenceParameters = 1_138_051,
        // Fast_Seg publishes no figures for Fast-SCNN.
        ReferenceMIoU = null,
        ReferenceFps = null,
    };

    public SegmentationModel Build(ModelOptions options) => new FastSegFastSCNN(options.NumClasses, options.Aux);
}
