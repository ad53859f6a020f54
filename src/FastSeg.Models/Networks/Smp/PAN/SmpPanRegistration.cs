using FastSeg.Models.Encoders;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class SmpPanRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "smp/pan",
        Title = "PAN (SMP)",
        Source = "smp",
        Paper = "Pyramid Attention Network for Semantic Segmentation (BMVC 2018)",
        Encoders = SmpResNetEncoder.Names,
        DefaultEncoder = SmpResNetEncoder.DefaultName,
        InputMultiple = SmpPan.Multiple,
        ReferenceParameters = 21_481_018,
    };

    public SegmentationModel Build(ModelOptions options) => new SmpPan(options.NumClasses, options.Encoder!);
}
