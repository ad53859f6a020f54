using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class BiSeNetv2Registration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "bisenetv2",
        Title = "BiSeNetv2",
        Paper = "BiSeNet V2: Bilateral Network with Guided Aggregation for Real-time Semantic Segmentation (IJCV 2021)",
        SupportsAux = true,
        InputMultiple = 32,
        ReferenceParameters = 2_272_688,
        ReferenceMIoU = 73.73,
        ReferenceFps = 142,
    };

    public SegmentationModel Build(ModelOptions options) => new BiSeNetv2(options.NumClasses, options.Aux);
}
