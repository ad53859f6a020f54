using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class AGLNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "aglnet",
        Title = "AGLNet",
        Paper = "AGLNet: Towards real-time semantic segmentation of self-driving images via attention-guided lightweight network (Applied Soft Computing 2020)",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("relu") },
        InputMultiple = 8,
        ReferenceParameters = 1_024_332,
        ReferenceMIoU = 73.58,
        ReferenceFps = 61,
    };

    public SegmentationModel Build(ModelOptions options) => new AGLNet(options.NumClasses, options.Get("act_type", "relu"));
}
