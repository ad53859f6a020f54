using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class SmpUnetPlusPlusRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "smp/unetpp",
        Title = "UNet++ (SMP)",
        Source = "smp",
        Paper = "UNet++: A Nested U-Net Architecture for Medical Image Segmentation (DLMIA 2018)",
        Encoders = SmpResNetEncoder.Names,
        DefaultEncoder = SmpResNetEncoder.DefaultName,
        InputMultiple = 32,
        ReferenceParameters = 26_081_219,
        ExtraOptions = new Dictionary<string, string[]> { ["decoder_attention_type"] = SmpAttention.Types },
    };

    public SegmentationModel Build(ModelOptions options) =>
        new SmpUnetPlusPlus(options.NumClasses, options.Encoder!, options.Get("decoder_attention_type", "none"));
}
