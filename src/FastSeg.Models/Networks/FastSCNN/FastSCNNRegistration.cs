using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class FastSCNNRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "fastscnn",
        Title = "FastSCNN",
        Paper = "Fast-SCNN: Fast Semantic Segmentation Network (BMVC 2019)",
        InputMultiple = 1,
        ReferenceParameters = 1_023_769,
        ReferenceMIoU = 69.37,
        ReferenceFps = 358,
    };

    public SegmentationModel Build(ModelOptions options) => new FastSCNN(options.NumClasses);
}
