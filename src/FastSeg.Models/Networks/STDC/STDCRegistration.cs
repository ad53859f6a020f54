using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class STDCRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "stdc",
        Title = "STDC",
        Paper = "Rethinking BiSeNet For Real-time Semantic Segmentation (CVPR 2021)",
        Encoders = new[] { "stdc1", "stdc2" },
        DefaultEncoder = "stdc1",
        SupportsAux = true,
        SupportsDetail = true,
        InputMultiple = 32,
        ReferenceParameters = 7_788_448, // stdc2: 11,818,912; stdc1 + aux: 9,860,896; stdc1 + detail: 8,083,747
        ReferenceMIoU = 75.25, // stdc2: 76.78
        ReferenceFps = 163, // stdc2: 119
    };

    public SegmentationModel Build(ModelOptions options) =>
        new STDC(options.NumClasses, options.Encoder!, useDetailHead: options.Detail, useAux: options.Aux);
}
