using FastSeg.Models.Encoders;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class SmpFpnRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "smp/fpn",
        Title = "FPN (SMP)",
        Source = "smp",
        Paper = "Panoptic Feature Pyramid Networks (CVPR 2019; first shown as FAIR's COCO-Stuff 2017 entry)",
        Encoders = SmpResNetEncoder.Names,
        DefaultEncoder = SmpResNetEncoder.DefaultName,
        InputMultiple = 32,
        ReferenceParameters = 23_157_715,
    };

    public SegmentationModel Build(ModelOptions options) => new SmpFpn(options.NumClasses, options.Encoder!);
}
