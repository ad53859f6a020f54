using FastSeg.Models.Encoders;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class SmpMAnetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "smp/manet",
        Title = "MA-Net (SMP)",
        Source = "smp",
        Paper = "MA-Net: A Multi-Scale Attention Network for Liver and Tumor Segmentation (IEEE Access 2020)",
        Encoders = SmpResNetEncoder.Names,
        DefaultEncoder = SmpResNetEncoder.DefaultName,
        InputMultiple = 32,
        ReferenceParameters = 31_786_243,
    };

    public SegmentationModel Build(ModelOptions options) => new SmpMAnet(options.NumClasses, options.Encoder!);
}
