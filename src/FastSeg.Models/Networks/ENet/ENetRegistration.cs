using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class ENetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "enet",
        Title = "ENet",
        Paper = "ENet: A Deep Neural Network Architecture for Real-Time Semantic Segmentation (arXiv 2016)",
        ExtraOptions = new Dictionary<string, string[]>
        {
            // The reference's upsample_type: 'deconvolution' (default) or anything else (None) for 1×1 conv + bilinear.
            ["upsample_type"] = new[] { "deconvolution", "bilinear" },
        },
        InputMultiple = 8,
        ReferenceParameters = 365_100,
        ReferenceMIoU = 71.31,
        ReferenceFps = 140,
    };

    public SegmentationModel Build(ModelOptions options) =>
        new ENet(options.NumClasses, options.Get("upsample_type", "deconvolution"));
}
