using FastSeg.Models.Encoders;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class SmpPspNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "smp/pspnet",
        Title = "PSPNet (SMP)",
        Source = "smp",
        Paper = "Pyramid Scene Parsing Network (CVPR 2017)",
        Encoders = SmpResNetEncoder.Names,
        DefaultEncoder = SmpResNetEncoder.DefaultName,
        InputMultiple = 8,
        ReferenceParameters = 21_520_947,
    };

    public SegmentationModel Build(ModelOptions options) => new SmpPspNet(options.NumClasses, options.Encoder!);
}
