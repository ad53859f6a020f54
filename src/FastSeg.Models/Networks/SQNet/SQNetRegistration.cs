using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class SQNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "sqnet",
        Title = "SQNet",
        Paper = "Speeding up Semantic Segmentation for Autonomous Driving (NIPS 2016 Workshop on Machine Learning for Intelligent Transportation Systems)",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("elu") },
        InputMultiple = 16,
        ReferenceParameters = 4_808_976,
        ReferenceMIoU = 69.55,
        ReferenceFps = 69,
    };

    public SegmentationModel Build(ModelOptions options) => new SQNet(options.NumClasses, options.Get("act_type", "elu"));
}
