using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class ESNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "esnet",
        Title = "ESNet",
        Paper = "ESNet: An Efficient Symmetric Network for Real-time Semantic Segmentation (PRCV 2019)",
        // The reference passes inplace=True to its activations: only those that accept it can be built.
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = InplaceActivations.OptionValues("relu") },
        InputMultiple = 8,
        ReferenceParameters = 1_657_458,
        ReferenceMIoU = 71.82,
        ReferenceFps = 66,
    };

    public SegmentationModel Build(ModelOptions options) => new ESNet(options.NumClasses, options.Get("act_type", "relu"));
}
