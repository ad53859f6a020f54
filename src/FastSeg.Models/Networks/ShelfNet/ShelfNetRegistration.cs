using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class ShelfNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "shelfnet",
        Title = "ShelfNet",
        Paper = "ShelfNet for Fast Semantic Segmentation (ICCV Workshops 2019)",
        Encoders = ShelfNet.Backbones,
        DefaultEncoder = "resnet18",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("relu") },
        ValueOptions = new Dictionary<string, ValueOption> { ["hid_channels"] = ValueOption.IntList(ShelfNet.DefaultHidChannels, 4) },
        InputMultiple = 32,
        ReferenceParameters = 16_040_864,
        ReferenceMIoU = 77.63,
        ReferenceFps = 110,
    };

    public SegmentationModel Build(ModelOptions options) =>
        new ShelfNet(options.NumClasses, options.Encoder!, options.GetInts("hid_channels", ShelfNet.DefaultHidChannels),
            options.Get("act_type", "relu"));
}
