using FastSeg.Models.Encoders;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class SmpDeepLabV3PlusRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "smp/deeplabv3p",
        Title = "DeepLabV3+ (SMP)",
        Source = "smp",
        Paper = "Encoder-Decoder with Atrous Separable Convolution for Semantic Image Segmentation (ECCV 2018)",
        Encoders = SmpResNetEncoder.Names,
        DefaultEncoder = SmpResNetEncoder.DefaultName,
        InputMultiple = 16,
        ReferenceParameters = 22_442_083,
    };

    public SegmentationModel Build(ModelOptions options) => new SmpDeepLabV3Plus(options.NumClasses, options.Encoder!);
}
