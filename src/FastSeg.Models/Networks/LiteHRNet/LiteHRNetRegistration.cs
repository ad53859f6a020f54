using System.Globalization;
using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class LiteHRNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "litehrnet",
        Title = "Lite-HRNet",
        Paper = "Lite-HRNet: A Lightweight High-Resolution Network (CVPR 2021)",
        Encoders = LiteHRNet.Variants.Keys.ToArray(),
        DefaultEncoder = "litehrnet18",
        // 'glu' is left out: it halves the channels and breaks every block.
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("relu") },
        ValueOptions = new Dictionary<string, ValueOption>
        {
            ["base_ch"] = EvenChannels(40),
            ["repeat"] = ValueOption.Int(2, 1, 8),
        },
        InputMultiple = 32,
        ReferenceParameters = 1_088_700, // litehrnet30: 1,647,692
        ReferenceMIoU = 70.66,
        ReferenceFps = 30,
    };

    /// <summary>An even integer from 16 to 512: the reference halves channel counts with integer division and divides them by 8.</summary>
    private static ValueOption EvenChannels(int defaultValue) => new()
    {
        Default = defaultValue.ToString(CultureInfo.InvariantCulture),
        Expected = "an even integer from 16 to 512",
        Check = v => int.TryParse(v.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int c) && c >= 16 && c <= 512 && c % 2 == 0
            ? null
            : "not an even integer from 16 to 512",
    };

    public SegmentationModel Build(ModelOptions options) =>
        new LiteHRNet(options.NumClasses, options.Encoder!, options.GetInt("base_ch", 40), options.GetInt("repeat", 2),
            options.Get("act_type", "relu"));
}
