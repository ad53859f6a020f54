using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class ERFNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "erfnet",
        Title = "ERFNet",
        Paper = "ERFNet: Efficient Residual Factorized ConvNet for Real-Time Semantic Segmentation (IEEE T-ITS 2018)",
        InputMultiple = 8,
        ReferenceParameters = 2_065_458,
        ReferenceMIoU = 76.00,
        ReferenceFps = 60,
    };

    public SegmentationModel Build(ModelOptions options) => new ERFNet(options.NumClasses);
}
