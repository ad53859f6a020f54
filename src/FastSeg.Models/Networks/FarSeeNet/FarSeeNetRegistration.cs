using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class FarSeeNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "farseenet",
        Title = "FarSee-Net",
        Paper = "FarSee-Net: Real-Time Semantic Segmentation by Efficient Multi-scale Context Aggregation and Feature Space Super-resolution (ICRA 2020)",
        Encoders = FarSeeNet.Backbones,
        DefaultEncoder = "resnet18",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("relu") },
        InputMultiple = 32,
        ReferenceParameters = 16_753_056,
        ReferenceMIoU = 77.35,
        ReferenceFps = 130,
    };

    public SegmentationModel Build(ModelOptions options) =>
        new FarSeeNet(options.NumClasses, options.Encoder!, options.Get("act_type", "relu"));
}
