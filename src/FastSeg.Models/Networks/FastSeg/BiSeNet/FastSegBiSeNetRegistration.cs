using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class FastSegBiSeNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "fast_seg/bisenet",
        Title = "BiSeNet (Fast_Seg / TorchSeg, deep-stem ResNet-18)",
        Source = "fast_seg",
        Paper = "BiSeNet: Bilateral Segmentation Network for Real-time Semantic Segmentation (ECCV 2018)",
        SupportsAux = true,
        // Fast_Seg has no loss for BiSeNet's outputs; TorchSeg, which it copies, sums main + aux0 + aux1.
        AuxLossWeights = new[] { 1.0, 1.0 },
        InputMultiple = 1,
        ReferenceParameters = 13_042_643,
        // Fast_Seg's README publishes no mIoU or FPS for BiSeNet.
        ReferenceMIoU = null,
        ReferenceFps = null,
    };

    public SegmentationModel Build(ModelOptions options) => new FastSegBiSeNet(options.NumClasses, options.Aux);
}
