using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class CGNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "cgnet",
        Title = "CGNet",
        Paper = "CGNet: A Light-weight Context Guided Network for Semantic Segmentation (IEEE TIP 2021)",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("prelu") },
        ValueOptions = new Dictionary<string, ValueOption>
        {
            // Stage 2 / stage 3 repeat M − 1 / N − 1 blocks; below 2 the reference's fixed channel counts break.
            ["M"] = ValueOption.Int(3, min: 2, max: 64),
            ["N"] = ValueOption.Int(15, min: 2, max: 64),
        },
        InputMultiple = 8,
        ReferenceParameters = 243_805,
        ReferenceMIoU = 67.25,
        ReferenceFps = 157,
    };

    public SegmentationModel Build(ModelOptions options) =>
        new CGNet(options.NumClasses, options.GetInt("M", 3), options.GetInt("N", 15), options.Get("act_type", "prelu"));
}
