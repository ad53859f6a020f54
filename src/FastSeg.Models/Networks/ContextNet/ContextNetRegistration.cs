using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class ContextNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "contextnet",
        Title = "ContextNet",
        Paper = "ContextNet: Exploring Context and Detail for Semantic Segmentation in Real-time (BMVC 2018)",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("relu") },
        InputMultiple = 1,
        ReferenceParameters = 1_008_870,
        ReferenceMIoU = 66.61,
        ReferenceFps = 80,
    };

    public SegmentationModel Build(ModelOptions options) => new ContextNet(options.NumClasses, options.Get("act_type", "relu"));
}
