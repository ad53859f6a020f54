using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class MiniNetv2Registration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "mininetv2",
        Title = "MiniNetv2",
        Paper = "MiniNet: An Efficient Semantic Segmentation ConvNet for Real-Time Robotic Applications (IEEE T-RO 2020)",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = InplaceActivations.OptionValues("relu") },
        ValueOptions = new Dictionary<string, ValueOption> { ["feat_dt"] = ValueOption.IntList(MiniNetv2.DefaultDilations, null, 1, 64) },
        InputMultiple = 8,
        ReferenceParameters = 507_243,
        ReferenceMIoU = 71.79,
        ReferenceFps = 86,
    };

    public SegmentationModel Build(ModelOptions options) =>
        new MiniNetv2(options.NumClasses, options.GetInts("feat_dt", MiniNetv2.DefaultDilations), options.Get("act_type", "relu"));
}
