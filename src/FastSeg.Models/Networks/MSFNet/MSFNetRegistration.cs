using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class MSFNetRegistration : IModelRegistration
{
    public ModelInfo Info { get; } = new()
    {
        Name = "msfnet",
        Title = "MSFNet",
        Source = "fast_seg",
        Paper = "Real-Time Semantic Segmentation via Multiply Spatial Fusion Network (arXiv 1911.07217, 2019; BMVC 2021)",
        SupportsAux = true, // the Class Boundary Supervision head
        ExtraOptions = new Dictionary<string, string[]>
        {
            // Boundary head output: one channel per class (default) or one class-agnostic channel.
            ["boundary"] = new[] { "class", "binary" },
        },
        InputMultiple = 1,
        // Our own count (no reference code; the paper's figure was not in the text available): ResNet-18 11,176,512
        // plus the fusion module and the segmentation head, 19 classes, no boundary head.
        ReferenceParameters = 11_752_595,
        // The paper's published figures, not the zoo's usual protocol: Cityscapes *test* mIoU and FPS at 1024x2048
        // input (the zoo's other figures are val mIoU and 1024x512 FPS). CamVid: 75.4 % at 91 FPS.
        ReferenceMIoU = 77.1,
        ReferenceFps = 41,
    };

    public SegmentationModel Build(ModelOptions options) =>
        new MSFNet(options.NumClasses, options.Aux, options.Get("boundary", "class") == "binary");
}
