using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class FastSegESPNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "fast_seg/espnet",
        Title = "ESPNet (Fast_Seg)",
        Source = "fast_seg",
        Paper = "ESPNet: Efficient Spatial Pyramid of Dilated Convolutions for Semantic Segmentation (ECCV 2018)",
        ValueOptions = new Dictionary<string, ValueOption>
        {
            ["p"] = ValueOption.Int(2, 1, 64),
            ["q"] = ValueOption.Int(3, 1, 64),
        },
        InputMultiple = 8,
        ReferenceParameters = 201_542,
        // Fast_Seg publishes no figures for ESPNet.
        ReferenceMIoU = null,
        ReferenceFps = null,
    };

    public SegmentationModel Build(ModelOptions options) =>
        new FastSegESPNet(options.NumClasses, options.GetInt("p", 2), options.GetInt("q", 3));
}
