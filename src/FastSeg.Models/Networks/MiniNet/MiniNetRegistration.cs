using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class MiniNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "mininet",
        Title = "MiniNet",
        Paper = "Enhancing V-SLAM Keyframe Selection with an Efficient ConvNet for Semantic Analysis (ICRA 2019)",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("selu") },
        InputMultiple = 64,
        ReferenceParameters = 1_408_224,
        ReferenceMIoU = 61.47,
        ReferenceFps = 254,
    };

    public SegmentationModel Build(ModelOptions options) => new MiniNet(options.NumClasses, options.Get("act_type", "selu"));
}
