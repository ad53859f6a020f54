// QuickStart: create a network from the zoo, load weights from a .pth file, segment an image of any size and write the
// class ids, their colours and an overlay.
//
//   dotnet run --project samples/QuickStart -c Release [-- [IMAGE] [CHECKPOINT.pth] [NETWORK]]
//
// IMAGE defaults to a generated street scene of 700x350 (any size works: for networks with an input multiple, e.g. 32
// for BiSeNet, the predictor pads to it and crops the ids back). CHECKPOINT defaults to the demo's demo-output/run/best.pth when it exists (bash tools/demo.sh);
// otherwise the network's freshly initialised weights are written to a .pth and read back, so the code path is the
// same but the segmentation is random. NETWORK (default fastscnn) is used when the checkpoint does not name one.
using FastSeg.Data;
using FastSeg.Models;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using static FastSeg.Torch.torch;

string work = Path.Combine(Path.GetTempPath(), "fastseg-quickstart");
Directory.CreateDirectory(work);
string? imagePath = args.Length > 0 ? args[0] : null;
string? checkpointPath = args.Length > 1 ? args[1] : File.Exists("demo-output/run/best.pth") ? "demo-output/run/best.pth" : null;
string network = args.Length > 2 ? args[2] : "fastscnn";
Console.WriteLine($"FastSeg QuickStart on libtorch {__version__}, {get_num_threads()} threads");

// 1. The image: the user's, or a generated street scene in the Cityscapes layout.
if (imagePath is null)
{
    var files = SyntheticCityscapes.Generate(Path.Combine(work, "scene"),
        new SyntheticCityscapesOptions { Width = 700, Height = 350, TrainCount = 0, ValCount = 1, Seed = 42 });
    imagePath = files[0].ImagePath;
}
using var image = Image.Read(imagePath);
Console.WriteLine($"image:   {imagePath} ({image.Width}x{image.Height})");

// 2. The network and its weights from a .pth (a trainer checkpoint or a bare state dict, PyTorch's format either way).
SegmentationModel model;
if (checkpointPath is not null)
{
    using var checkpoint = ModelCheckpoint.Read(checkpointPath);
    model = checkpoint.CreateModel(checkpoint.TrainingConfig?.Model is null ? network : null);
    Console.WriteLine($"weights: {checkpointPath}");
}
else
{
    manual_seed(0);
    using (var fresh = ModelZoo.Create(network)) fresh.SaveWeights(Path.Combine(work, $"{network}.pth"));
    model = ModelZoo.Create(network);
    model.LoadWeights(Path.Combine(work, $"{network}.pth"));
    Console.WriteLine($"weights: {Path.Combine(work, $"{network}.pth")} (untrained: run bash tools/demo.sh for trained weights)");
}
using (model)
{
    Console.WriteLine($"network: {model.Info!.Name}, {model.NumClasses} classes, {model.parameters().Sum(p => p.numel()):N0} parameters, " +
                      $"input multiple {model.InputMultiple}");

    // 3. Segment: eval mode, no autograd; the image is padded to the network's multiple and the ids cropped back.
    using var scope = NewDisposeScope();
    var predictor = new SegmentationPredictor(model, new PredictorOptions { Mode = InputSizeMode.Pad });
    var watch = System.Diagnostics.Stopwatch.StartNew();
    var ids = predictor.Predict(image.ToTensor());
    Console.WriteLine($"predict: {string.Join("x", ids.shape)} class ids in {watch.ElapsedMilliseconds} ms");

    // 4. Write the ids, their colours and the overlay.
    var palette = model.NumClasses == 19 ? Palette.Cityscapes : Palette.Generated(model.NumClasses);
    using var pictures = SegmentationRenderer.Render(image, ids, palette, alpha: 0.5);
    string output = Path.Combine(work, "output");
    pictures.Save(output, Path.GetFileNameWithoutExtension(imagePath));
    Console.WriteLine($"wrote:   {output}/{Path.GetFileNameWithoutExtension(imagePath)}_{{trainIds,color,overlay}}.png");

    // The share of pixels per predicted class.
    var counts = bincount(ids.flatten(), minlength: model.NumClasses).ToArray<long>();
    var names = model.NumClasses == 19 ? LabelMap.Cityscapes.ClassNames : null;
    foreach (var (count, cls) in counts.Select((c, i) => (c, i)).Where(t => t.c > 0).OrderByDescending(t => t.c).Take(5))
        Console.WriteLine($"  {names?[cls] ?? $"class {cls}",-14} {100.0 * count / ids.numel(),6:F2} % of pixels");
}
