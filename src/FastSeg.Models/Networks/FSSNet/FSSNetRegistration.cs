using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class FSSNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "fssnet",
        Title = "FSSNet",
        Paper = "Fast Semantic Segmentation for Scene Perception (IEEE Transactions on Industrial Informatics 2019)",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("prelu") },
        InputMultiple = 8,
        ReferenceParameters = 199_690,
        ReferenceMIoU = 65.44,
        ReferenceFps = 121,
    };

    public SegmentationModel Build(ModelOptions options) => new FSSNet(options.NumClasses, options.Get("act_type", "prelu"));
}
