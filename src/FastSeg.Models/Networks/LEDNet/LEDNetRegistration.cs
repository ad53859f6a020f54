using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class LEDNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "lednet",
        Title = "LEDNet",
        Paper = "LEDNet: A Lightweight Encoder-Decoder Network for Real-Time Semantic Segmentation (ICIP 2019)",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("relu") },
        InputMultiple = 1,
        ReferenceParameters = 1_461_383,
        ReferenceMIoU = 72.63,
        ReferenceFps = 76,
    };

    public SegmentationModel Build(ModelOptions options) => new LEDNet(options.NumClasses, options.Get("act_type", "relu"));
}
