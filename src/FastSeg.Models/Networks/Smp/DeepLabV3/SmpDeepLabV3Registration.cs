using FastSeg.Models.Encoders;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class SmpDeepLabV3Registration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "smp/deeplabv3",
        Title = "DeepLabV3 (SMP)",
        Source = "smp",
        Paper = "Rethinking Atrous Convolution for Semantic Image Segmentation (arXiv 2017)",
        Encoders = SmpResNetEncoder.Names,
        DefaultEncoder = SmpResNetEncoder.DefaultName,
        InputMultiple = 8,
        ReferenceParameters = 26_011_731,
    };

    public SegmentationModel Build(ModelOptions options) => new SmpDeepLabV3(options.NumClasses, options.Encoder!);
}
