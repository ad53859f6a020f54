using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class FANetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "fanet",
        Title = "FANet",
        Paper = "Real-time Semantic Segmentation with Fast Attention (IEEE RA-L 2021)",
        Encoders = FANet.Backbones,
        DefaultEncoder = "resnet18",
        ExtraOptions = new Dictionary<string, string[]>
        {
            ["cat_feat"] = new[] { "true", "false" },
            // The reference builds the fuse-up activations with inplace=True, which PReLU, GELU, Sigmoid, ... refuse.
            ["act_type"] = InplaceActivations.OptionValues("relu"),
        },
        ValueOptions = new Dictionary<string, ValueOption> { ["att_channel"] = ValueOption.Int(32, 1, 1024) },
        InputMultiple = 64,
        ReferenceParameters = 12_263_264,
        ReferenceMIoU = 74.92,
        ReferenceFps = 100,
    };

    public SegmentationModel Build(ModelOptions options) =>
        new FANet(options.NumClasses, options.GetInt("att_channel", 32), options.Encoder!,
            options.Get("cat_feat", "true") == "true", options.Get("act_type", "relu"));
}
