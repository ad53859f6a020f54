using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class CANetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "canet",
        Title = "CANet",
        Paper = "Cross Attention Network for Semantic Segmentation (ICIP 2019)",
        Encoders = CANet.Backbones,
        DefaultEncoder = "mobilenet_v2",
        // The reference builds these activations with inplace=True, which PReLU, GELU, Sigmoid, Softmax, Tanh refuse.
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = InplaceActivations.OptionValues("relu") },
        InputMultiple = 32,
        ReferenceParameters = 4_774_186,
        ReferenceMIoU = 76.59,
        ReferenceFps = 76,
    };

    public SegmentationModel Build(ModelOptions options) =>
        new CANet(options.NumClasses, options.Encoder!, options.Get("act_type", "relu"));
}
