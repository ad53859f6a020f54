using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class DFSegV1Registration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "fast_seg/dfnetv1seg",
        Title = "DFSeg (DF-Net v1)",
        Source = "fast_seg",
        Paper = "Partial Order Pruning: for Best Speed/Accuracy Trade-off in Neural Architecture Search (CVPR 2019)",
        InputMultiple = 1,
        ReferenceParameters = 9_733_659,
        // Fast_Seg's README publishes no mIoU or FPS for DFSeg.
        ReferenceMIoU = null,
        ReferenceFps = null,
    };

    public SegmentationModel Build(ModelOptions options) => new DFSeg(options.NumClasses, "dfnetv1");
}

internal sealed class DFSegV2Registration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "fast_seg/dfnetv2seg",
        Title = "DFSeg (DF-Net v2)",
        Source = "fast_seg",
        Paper = "Partial Order Pruning: for Best Speed/Accuracy Trade-off in Neural Architecture Search (CVPR 2019)",
        InputMultiple = 1,
        ReferenceParameters = 19_187_739,
        ReferenceMIoU = null,
        ReferenceFps = null,
    };

    public SegmentationModel Build(ModelOptions options) => new DFSeg(options.NumClasses, "dfnetv2");
}
