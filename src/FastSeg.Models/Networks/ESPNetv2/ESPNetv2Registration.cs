using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class ESPNetv2Registration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "espnetv2",
        Title = "ESPNetv2",
        Paper = "ESPNetv2: A Light-weight, Power Efficient, and General Purpose Convolutional Neural Network (CVPR 2019)",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("prelu") },
        ValueOptions = new Dictionary<string, ValueOption>
        {
            // Accepted and ignored, as in the reference (every EESP unit has four branches).
            ["K"] = ValueOption.Int(4),
            ["alpha3"] = ValueOption.Int(3, 0, 64),
            ["alpha4"] = ValueOption.Int(7, 0, 64),
        },
        InputMultiple = 1,
        ReferenceParameters = 862_032,
        ReferenceMIoU = 70.35,
        ReferenceFps = 101,
    };

    public SegmentationModel Build(ModelOptions options) =>
        new ESPNetv2(options.NumClasses, options.GetInt("alpha3", 3), options.GetInt("alpha4", 7), options.Get("act_type", "prelu"));
}
