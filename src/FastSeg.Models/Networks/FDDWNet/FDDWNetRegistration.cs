using System.Globalization;
using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class FDDWNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "fddwnet",
        Title = "FDDWNet",
        Paper = "FDDWNet: A Lightweight Convolutional Neural Network for Real-time Semantic Segmentation (ICASSP 2020)",
        // The reference passes inplace=True to its activations: only those that accept it can be built.
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = InplaceActivations.OptionValues("relu") },
        ValueOptions = new Dictionary<string, ValueOption> { ["ks"] = OddKernel(3, 31) },
        InputMultiple = 8,
        ReferenceParameters = 773_682,
        ReferenceMIoU = 75.86,
        ReferenceFps = 51,
    };

    // An even kernel shifts the map size by one per conv and breaks the residual sums, so only odd sizes are valid.
    private static ValueOption OddKernel(int defaultValue, int max) => new()
    {
        Default = defaultValue.ToString(CultureInfo.InvariantCulture),
        Expected = $"an odd integer from 1 to {max}",
        Check = v => int.TryParse(v.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int k) && k >= 1 && k <= max && k % 2 == 1
            ? null
            : $"not an odd integer from 1 to {max}",
    };

    public SegmentationModel Build(ModelOptions options) =>
        new FDDWNet(options.NumClasses, options.GetInt("ks", 3), options.Get("act_type", "relu"));
}
