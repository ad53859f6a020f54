// QuickStart: a network from the zoo with published weights, segmenting an image of any size and writing the class
// ids, their colours and an overlay.
//
//   dotnet run --project samples/QuickStart -c Release [-- [IMAGE] [CHECKPOINT.pth] [NETWORK]]
//
// IMAGE defaults to a generated street scene of 700x350 (any size works: for networks with an input multiple, e.g. 32
// for BiSeNet, the predictor pads to it and crops the ids back). Weights: CHECKPOINT when given; else NETWORK's
// (default fastscnn) published Cityscapes weights, downloaded once into the weights cache ($FASTSEG_HOME/weights,
// else ~/.cache/fastseg/weights); offline, one line says where to place that file, and the demo's
// demo-output/run/best.pth is used when it exists (bash tools/demo.sh), else freshly initialised weights (the code
// path is the same, the segmentation random). NETWORK also names the network of a checkpoint that does not record one.
using FastSeg.Data;
using FastSeg.Models;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using static FastSeg.Torch.torch;

string work = Path.Combine(Path.GetTempPath(), "fastseg-quickstart");
Directory.CreateDirectory(work);
string? imagePath = args.Length > 0 ? args[0] : null;
const string DemoCheckpoint = "demo-output/run/best.pth"; // written by bash tools/demo.sh
string? checkpointPath = args.Length > 1 ? args[1] : null;
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

// 2. The network and its weights: the CHECKPOINT given; else NETWORK's published Cityscapes weights (downloaded once
//    into the weights cache); else, offline, the demo's checkpoint when it exists; else fresh weights. Each is a .pth
//    in PyTorch's format (a trainer checkpoint or a bare state dict).
SegmentationModel? model = null;
if (checkpointPath is null)
{
    try
    {
        var published = PretrainedWeights.Find(network, null, "cityscapes");
        var downloader = WeightsDownloader.FromEnvironment();
        if (!File.Exists(downloader.CachePath(published.CachePath)))
            Console.WriteLine($"download: {published.Url} into {downloader.CacheDirectory} (first run only)");
        PretrainedWeights.Fetch(published, downloader);
        model = ModelZoo.Model(network).WithPretrained("cityscapes").Build();
        Console.WriteLine($"weights: {network}'s published Cityscapes weights ({published.MIoU:F2} % mIoU on Cityscapes val)");
    }
    catch (Exception e) when (e is WeightsDownloadException or ArgumentException) // offline, or a network without them
    {
        Console.WriteLine($"no published weights: {e.Message}");
        if (File.Exists(DemoCheckpoint)) checkpointPath = DemoCheckpoint;
    }
}
if (model is null && checkpointPath is not null)
{
    using var checkpoint = ModelCheckpoint.Read(checkpointPath);
    model = checkpoint.CreateModel(checkpoint.ModelName is null ? network : null);
    Console.WriteLine($"weights: {checkpointPath}");
}
else if (model is null)
{
    manual_seed(0);
    using (var fresh = ModelZoo.Create(network)) fresh.SaveWeights(Path.Combine(work, $"{network}.pth"));
    model = ModelZoo.Create(network);
    model.LoadWeights(Path.Combine(work, $"{network}.pth"));
    Console.WriteLine($"weights: {Path.Combine(work, $"{network}.pth")} (untrained: the segmentation is random; bash tools/demo.sh trains a checkpoint)");
}
using (model!)
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
