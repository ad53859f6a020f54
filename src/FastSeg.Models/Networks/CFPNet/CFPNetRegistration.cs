using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class CFPNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "cfpnet",
        Title = "CFPNet",
        Paper = "CFPNet: Channel-wise Feature Pyramid for Real-Time Semantic Segmentation (IEEE ICIP 2021)",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("prelu") },
        ValueOptions = new Dictionary<string, ValueOption>
        {
            ["n"] = ValueOption.Int(2, min: 0, max: 64),
            ["m"] = ValueOption.Int(6, min: 0, max: 64),
            // n + m base dilations (checked against n and m when the network is built).
            ["dilations"] = ValueOption.IntList(CFPNet.DefaultDilations, min: 1, max: 256),
        },
        InputMultiple = 8,
        ReferenceParameters = 272_167,
        ReferenceMIoU = 70.08,
        ReferenceFps = 64,
    };

    public SegmentationModel Build(ModelOptions options) =>
        new CFPNet(options.NumClasses, options.GetInt("n", 2), options.GetInt("m", 6),
            options.GetInts("dilations", CFPNet.DefaultDilations), options.Get("act_type", "prelu"));
}
