using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class ADSCNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "adscnet",
        Title = "ADSCNet",
        Paper = "ADSCNet: asymmetric depthwise separable convolution for semantic segmentation in real-time (Applied Intelligence 2020)",
        // Only activations that PyTorch builds with inplace=True (the reference's ADSC modules ask for that).
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = ADSCNet.ActivationTypes },
        InputMultiple = 8,
        ReferenceParameters = 509_273,
        ReferenceMIoU = 69.06,
        ReferenceFps = 89,
    };

    public SegmentationModel Build(ModelOptions options) => new ADSCNet(options.NumClasses, options.Get("act_type", "relu6"));
}
