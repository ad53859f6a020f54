using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class FastSegDFANetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "fast_seg/dfanet",
        Title = "DFANet (Fast_Seg, XceptionA)",
        Source = "fast_seg",
        Paper = "DFANet: Deep Feature Aggregation for Real-Time Semantic Segmentation (CVPR 2019)",
        SupportsAux = true,
        // CriterionDFANet: OHEM(main) + 0.4 · OHEM(dsn1) + 0.4 · OHEM(dsn2).
        AuxLossWeights = new[] { 0.4, 0.4 },
        InputMultiple = 64,
        ReferenceParameters = 2_696_089,
        // Fast_Seg's README publishes no mIoU or FPS for DFANet.
        ReferenceMIoU = null,
        ReferenceFps = null,
    };

    public SegmentationModel Build(ModelOptions options) => new FastSegDFANet(options.NumClasses, options.Aux);
}
