using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class FPENetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "fpenet",
        Title = "FPENet",
        Paper = "Feature Pyramid Encoding Network for Real-time Semantic Segmentation (BMVC 2019)",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = InplaceActivations.OptionValues("relu") },
        ValueOptions = new Dictionary<string, ValueOption>
        {
            ["p"] = ValueOption.Int(3, 1, 64),
            ["q"] = ValueOption.Int(9, 1, 64),
            ["k"] = ValueOption.Int(4, 1, 64),
        },
        InputMultiple = 8,
        ReferenceParameters = 361_804,
        ReferenceMIoU = 72.05,
        ReferenceFps = 90,
    };

    public SegmentationModel Build(ModelOptions options) =>
        new FPENet(options.NumClasses, options.GetInt("p", 3), options.GetInt("q", 9), options.GetInt("k", 4), options.Get("act_type", "relu"));
}
