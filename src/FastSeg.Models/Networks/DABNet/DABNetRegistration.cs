using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class DABNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "dabnet",
        Title = "DABNet",
        Paper = "DABNet: Depth-wise Asymmetric Bottleneck for Real-time Semantic Segmentation (BMVC 2019)",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("prelu") },
        InputMultiple = 1,
        ReferenceParameters = 750_269,
        ReferenceMIoU = 70.78,
        ReferenceFps = 140,
    };

    public SegmentationModel Build(ModelOptions options) => new DABNet(options.NumClasses, options.Get("act_type", "prelu"));
}
