using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class SegNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "segnet",
        Title = "SegNet",
        Paper = "SegNet: A Deep Convolutional Encoder-Decoder Architecture for Image Segmentation (IEEE TPAMI 2017)",
        InputMultiple = 32,
        ReferenceParameters = 29_483_046,
        ReferenceMIoU = 70.77,
        ReferenceFps = 14,
    };

    public SegmentationModel Build(ModelOptions options) => new SegNet(options.NumClasses);
}
