using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class PPLiteSegRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "ppliteseg",
        Title = "PP-LiteSeg",
        Paper = "PP-LiteSeg: A Superior Real-Time Semantic Segmentation Model (arXiv 2204.02681, 2022)",
        Encoders = new[] { "stdc1", "stdc2" },
        DefaultEncoder = "stdc1",
        ExtraOptions = new Dictionary<string, string[]> { ["fusion"] = PPLiteSeg.FusionTypes },
        InputMultiple = 1,
        ReferenceParameters = 6_326_670, // stdc2: 10,556,942
        ReferenceMIoU = 72.49, // stdc2: 74.37
        ReferenceFps = 201, // stdc2: 136
    };

    public SegmentationModel Build(ModelOptions options) =>
        new PPLiteSeg(options.NumClasses, options.Encoder!, options.Get("fusion", "spatial"));
}
