using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class DFANetRegistration : IModelRegistration
{
    private static readonly string[] TrueFalse = { "true", "false" };

    public ModelInfo Info { get; } = new()
    {
        Name = "dfanet",
        Title = "DFANet",
        Paper = "DFANet: Deep Feature Aggregation for Real-Time Semantic Segmentation (CVPR 2019)",
        Encoders = DFANet.Variants,
        DefaultEncoder = "a",
        ExtraOptions = new Dictionary<string, string[]> { ["use_extra_backbone"] = TrueFalse },
        InputMultiple = 64,
        ReferenceParameters = 3_046_952,
        ReferenceMIoU = 65.28,
        ReferenceFps = 60,
    };

    public SegmentationModel Build(ModelOptions options) =>
        new DFANet(options.NumClasses, options.Encoder!, options.Get("use_extra_backbone", "true") == "true");
}
