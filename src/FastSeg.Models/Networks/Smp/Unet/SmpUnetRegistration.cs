using FastSeg.Models.Blocks;
using FastSeg.Models.Encoders;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class SmpUnetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "smp/unet",
        Title = "U-Net (SMP)",
        Source = "smp",
        Paper = "U-Net: Convolutional Networks for Biomedical Image Segmentation (MICCAI 2015)",
        Encoders = SmpResNetEncoder.Names,
        DefaultEncoder = SmpResNetEncoder.DefaultName,
        InputMultiple = 32,
        ReferenceParameters = 24_438_979,
        ExtraOptions = new Dictionary<string, string[]> { ["decoder_attention_type"] = SmpAttention.Types },
    };

    public SegmentationModel Build(ModelOptions options) =>
        new SmpUnet(options.NumClasses, options.Encoder!, options.Get("decoder_attention_type", "none"));
}
