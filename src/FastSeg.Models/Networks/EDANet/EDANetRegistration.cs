using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class EDANetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "edanet",
        Title = "EDANet",
        Paper = "Efficient Dense Modules of Asymmetric Convolution for Real-Time Semantic Segmentation (ACM MM Asia 2019)",
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("relu") },
        ValueOptions = new Dictionary<string, ValueOption>
        {
            // The reference's constructor takes them, but its fixed 260-channel stage3_d and fixed dilation lists
            // make every other value fail (in the constructor or in the first forward).
            ["k"] = Only(40, "stage3_d takes 60 + 5·k = 260 channels"),
            ["num_b1"] = Only(5, "the 1/4 stage's dilation list has 5 entries"),
            ["num_b2"] = Only(8, "the 1/8 stage's dilation list has 8 entries"),
        },
        InputMultiple = 4,
        ReferenceParameters = 686_679,
        ReferenceMIoU = 70.76,
        ReferenceFps = 125,
    };

    private static ValueOption Only(int value, string why)
    {
        var text = value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var range = ValueOption.Int(value, value, value);
        return new ValueOption
        {
            Default = text,
            Expected = $"{text} (the only value the reference runs with: {why})",
            Check = v => range.Check(v) is null ? null : $"not {text}",
        };
    }

    public SegmentationModel Build(ModelOptions options) =>
        new EDANet(options.NumClasses, options.GetInt("k", 40), options.GetInt("num_b1", 5), options.GetInt("num_b2", 8),
            options.Get("act_type", "relu"));
}
