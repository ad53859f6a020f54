using FastSeg.Models.Encoders;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class SmpLinknetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "smp/linknet",
        Title = "LinkNet (SMP)",
        Source = "smp",
        Paper = "LinkNet: Exploiting Encoder Representations for Efficient Semantic Segmentation (VCIP 2017)",
        Encoders = SmpResNetEncoder.Names,
        DefaultEncoder = SmpResNetEncoder.DefaultName,
        InputMultiple = 32,
        ReferenceParameters = 21_772_531,
    };

    public SegmentationModel Build(ModelOptions options) => new SmpLinknet(options.NumClasses, options.Encoder!);
}
