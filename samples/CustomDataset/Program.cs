// Training on your own data: two ways to bring a dataset with its own classes (4 here) to the Trainer.
//
//  1. Files on disk, read with the ready FolderDataset: images in one folder, masks of the same name in another, and a
//     LabelMap that turns the ids your annotation tool stored into the 4 training classes (ids you do not train on go
//     to the ignore index 255; an id missing from the map is an error that names the file). The sample writes such a
//     folder first, from generated road scenes whose masks hold Cityscapes label ids.
//  2. Samples made by code, with a SegmentationDataset subclass (ShapesDataset below): override Count, GetId and
//     LoadRaw, return an image and a mask of class ids.
//
// Each gets its own augmentation pipeline (random scale, pad, crop with a class-ratio limit, flips, colour jitter, a
// Lambda step that adds noise, normalisation with statistics measured on the training images), a DataLoader, a zoo
// network built for 4 classes and a Trainer with num_class=4; then the trained network is evaluated on the validation
// split (per-class IoU) and one prediction is written next to its image and ground truth. Under a minute on 2 idle cores.
//
//   dotnet run --project samples/CustomDataset -c Release [-- options]
//
// Options: --source folder|code|both (both)  --model NAME (fastscnn)  --epochs N (15)  --out DIR ($TMP/fastseg-custom-demo)
using System.Globalization;
using FastSeg.Data;
using FastSeg.Models.Zoo;
using FastSeg.Training;
using FastSeg.Training.Evaluation;
using FastSeg.Training.Metrics;
using static FastSeg.Torch.torch;

var settings = DemoSettings.Parse(args);
Directory.CreateDirectory(settings.Output);
const int Crop = 128;

if (settings.Source is "folder" or "both")
{
    // ---- 1. a folder of images and masks, with a label map ------------------------------------------------------------
    var root = Path.Combine(settings.Output, "roads");
    WriteRoadFolders(root, trainCount: 24, valCount: 6);
    // Stored id → class. Cityscapes' ids stand in for whatever your annotation tool writes.
    var roadClasses = LabelMap.FromPairs(new Dictionary<int, int>
    {
        [7] = 0, [8] = 0, [22] = 0,            // road, sidewalk, terrain → "ground"
        [11] = 1, [17] = 1, [20] = 1,          // building, pole, traffic sign → "structure"
        [21] = 2,                              // vegetation
        [23] = 3,                              // sky
        [24] = 255, [26] = 255, [1] = 255,     // person, car, ego vehicle: not trained on
    }, classNames: ["ground", "structure", "vegetation", "sky"],
       palette: [new(128, 64, 128), new(70, 70, 70), new(107, 142, 35), new(70, 130, 180)], name: "roads");
    var train = new FolderDataset(Path.Combine(root, "train", "images"), Path.Combine(root, "train", "masks"), numClasses: 4, labels: roadClasses);
    var val = new FolderDataset(Path.Combine(root, "val", "images"), Path.Combine(root, "val", "masks"), numClasses: 4, labels: roadClasses);
    // Road scenes are not flipped upside down: horizontal flips only.
    TrainAndEvaluate("folder", train, val, settings, verticalFlip: false);
}

if (settings.Source is "code" or "both")
{
    // ---- 2. samples produced by code, through a SegmentationDataset subclass --------------------------------------------
    var train = new ShapesDataset(count: 32, size: 160, seed: 1);
    var val = new ShapesDataset(count: 8, size: 160, seed: 2);
    TrainAndEvaluate("code", train, val, settings, verticalFlip: true);
}

static void TrainAndEvaluate(string name, SegmentationDataset train, SegmentationDataset val, DemoSettings settings, bool verticalFlip)
{
    Console.WriteLine();
    var labels = train.Labels!;
    Console.WriteLine($"[{name}] {train.GetType().Name}: {train.Count} training and {val.Count} validation samples, " +
                      $"{train.NumClasses} classes ({string.Join(", ", labels.ClassNames)}), ignore index {train.IgnoreIndex}");

    // Normalisation from the data itself: per-channel mean and standard deviation of the training images.
    var (mean, std) = ChannelStatistics(train);
    Console.WriteLine($"[{name}] training images: mean {Format(mean)}, std {Format(std)} (of 1.0)");
    var steps = new List<Transform>
    {
        new RandomScale(0.75, 1.5, probability: 1.0),
        new PadIfNeeded(Crop, Crop, BorderMode.Constant, imageValue: [0, 0, 0], maskValue: train.IgnoreIndex),
        new RandomCrop(Crop, Crop, maxClassRatio: 0.8, ignoreIndex: train.IgnoreIndex),   // re-drawn while one class covers > 80 %
        new HorizontalFlip(0.5),
    };
    if (verticalFlip) steps.Add(new VerticalFlip(0.5));
    steps.Add(new ColorJitter(brightness: 0.3, contrast: 0.3, saturation: 0.3, hue: 0.05, probability: 0.5));
    steps.Add(new Lambda(AddNoise, "GaussianNoise(sigma 6)"));
    steps.Add(new Normalize(mean, std));
    train.Transform = new Compose(steps.ToArray());
    val.Transform = new Compose(new Normalize(mean, std));
    Console.WriteLine($"[{name}] training transform: {train.Transform}");

    // A look at one batch from the loader (the trainer builds its own loaders over the same datasets).
    var loader = new DataLoader(train, batchSize: 4, shuffle: true, dropLast: true, numWorkers: 1, seed: 7);
    using (var batch = loader.First())
    {
        var present = batch.Masks!.ToArray<long>().Distinct().Order();
        Console.WriteLine($"[{name}] one batch: images [{string.Join(", ", batch.Images.shape)}] {batch.Images.dtype}, " +
                          $"masks [{string.Join(", ", batch.Masks.shape)}] {batch.Masks.dtype}, labels present {string.Join(", ", present)}");
    }

    manual_seed(1);
    using var model = ModelZoo.Create(settings.Model, numClasses: train.NumClasses);
    var saveDir = Path.Combine(settings.Output, name + "-run");
    if (Directory.Exists(saveDir)) Directory.Delete(saveDir, recursive: true);
    var options = TrainerOptions.Builder()
        .Model(settings.Model)
        .Epochs(settings.Epochs)
        .BatchSize(4, 4)
        .Optimizer(OptimizerKind.Adam, 0.1)          // Adam's lr is 0.1 · base_lr in the reference: 0.01
        .LrPolicy(LrPolicy.CosWarmup, warmupEpochs: 1)
        .CrossEntropy()
        .Validation(beginEpoch: settings.Epochs)     // no validation during training: the evaluation below does it
        .SaveDir(saveDir)
        .Workers(1)
        .Seed(1)
        .Set("num_class", train.NumClasses.ToString(CultureInfo.InvariantCulture))
        .Set("ignore_index", train.IgnoreIndex.ToString(CultureInfo.InvariantCulture))
        .Set("log_interval", "0")
        .Set("use_tb", "false")
        .Set("save_ckpt", "false")                   // config.json and metrics.jsonl still go to save_dir
        .Build();
    using var trainer = new Trainer(options, model, train, val, progress: new Progress(name));
    var result = trainer.Run();
    Console.WriteLine($"[{name}] {result.Iterations} iterations in {result.Elapsed.TotalSeconds:F1} s ({result.ImagesPerSecond:F1} training images/s), " +
                      $"loss {result.FirstLoss:F3} -> {result.LastLoss:F3}");

    // Evaluation of the trained network on the validation split, with the dataset's class names.
    using var evaluator = new SegmentationEvaluator(train.NumClasses, train.IgnoreIndex, labels.ClassNames);
    var report = evaluator.Evaluate(model, val, batchSize: 4, workers: 1);
    Console.WriteLine(report.ToString());
    Console.WriteLine($"[{name}] mIoU {100 * report.MeanIoU:F2}% over {train.NumClasses} classes");
    WritePrediction(model, val, Path.Combine(settings.Output, name + "-prediction.png"));
}

// image | ground truth | prediction, for the first validation sample.
static void WritePrediction(FastSeg.Models.SegmentationModel model, SegmentationDataset val, string path)
{
    var labels = val.Labels!;
    var transform = val.Transform;
    val.Transform = null;
    using var raw = val.Get(0, seed: 0);
    val.Transform = transform;
    using var sample = val.Get(0, seed: 0);
    sample.ToTensor();
    byte[] predicted;
    using (no_grad())
    using (NewDisposeScope())
        predicted = model.call(sample.ImageTensor!.unsqueeze(0)).argmax(1).to(ScalarType.Byte).flatten().ToArray<byte>();
    using var prediction = Image.FromPixels(predicted, sample.Width, sample.Height, 1);
    using var truth = labels.Colorize(raw.Mask!);
    using var predictedColour = labels.Colorize(prediction);
    int w = raw.Width, h = raw.Height;
    using var strip = new Image(3 * w, h, 3);
    var parts = new[] { raw.Image, truth, predictedColour };
    for (int k = 0; k < parts.Length; k++)
        for (int y = 0; y < h; y++)
            parts[k].Pixels.Slice(y * w * 3, w * 3).CopyTo(strip.Pixels.Slice((y * 3 * w + k * w) * 3, w * 3));
    strip.Save(path);
    Console.WriteLine($"wrote {path} (image | ground truth | prediction)");
}

// A custom augmentation step: zero-mean Gaussian noise on every pixel, drawn from the sample's random source so the
// same seed gives the same noise.
static void AddNoise(Sample sample, DataRandom random)
{
    var pixels = sample.Image.Pixels;
    for (int i = 0; i < pixels.Length; i++)
    {
        // Box-Muller from two uniform draws.
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        double noise = 6.0 * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        pixels[i] = (byte)Math.Clamp(pixels[i] + noise, 0, 255);
    }
}

static (double[] Mean, double[] Std) ChannelStatistics(SegmentationDataset dataset)
{
    var sum = new double[3];
    var squares = new double[3];
    long count = 0;
    for (int i = 0; i < dataset.Count; i++)
    {
        using var sample = dataset.Get(i, seed: 0);   // no transform is set yet: the stored pixels
        var p = sample.Image.Pixels;
        for (int k = 0; k < p.Length; k += 3)
            for (int c = 0; c < 3; c++)
            {
                double v = p[k + c] / 255.0;
                sum[c] += v;
                squares[c] += v * v;
            }
        count += p.Length / 3;
    }
    var mean = sum.Select(s => s / count).ToArray();
    var std = squares.Select((s, c) => Math.Sqrt(Math.Max(s / count - mean[c] * mean[c], 1e-6))).ToArray();
    return (mean, std);
}

static string Format(double[] v) => "(" + string.Join(", ", v.Select(x => x.ToString("F3", CultureInfo.InvariantCulture))) + ")";

// Writes {root}/{train,val}/{images,masks}/scene_NNN.png: RGB images and 8-bit masks of stored ids.
static void WriteRoadFolders(string root, int trainCount, int valCount)
{
    foreach (var (split, count, salt) in new[] { ("train", trainCount, 1), ("val", valCount, 2) })
    {
        var images = Path.Combine(root, split, "images");
        var masks = Path.Combine(root, split, "masks");
        if (Directory.Exists(images) && Directory.GetFiles(images).Length == count) continue;
        Directory.CreateDirectory(images);
        Directory.CreateDirectory(masks);
        for (int i = 0; i < count; i++)
        {
            var (image, ids) = SyntheticCityscapes.RenderScene(256, 128, DataRandom.Derive(5, salt, i));
            using (image)
            using (ids)
            {
                image.Save(Path.Combine(images, $"scene_{i:D3}.png"));
                ids.Save(Path.Combine(masks, $"scene_{i:D3}.png"));
            }
        }
        Console.WriteLine($"wrote {count} images and masks under {Path.Combine(root, split)}");
    }
}

/// <summary>
/// A dataset whose samples are drawn by code: striped grey-brown backgrounds with discs, boxes and triangles (classes
/// 1–3; background 0), each shape class in its own range of colours (reddish, greenish, bluish) that overlap a little.
/// Sample i is a function of (seed, i) alone, so every epoch and every loader worker sees the same scene.
/// </summary>
internal sealed class ShapesDataset : SegmentationDataset
{
    private readonly int _count, _size;
    private readonly long _seed;

    public ShapesDataset(int count, int size, long seed)
    {
        _count = count;
        _size = size;
        _seed = seed;
        Labels = LabelMap.Identity(4, classNames: ["background", "disc", "box", "triangle"],
            palette: [new(0, 0, 0), new(230, 25, 75), new(60, 180, 75), new(0, 130, 200)], name: "shapes");
    }

    public override int Count => _count;

    public override string GetId(int index) => $"shapes_{_seed}_{index:D4}";

    protected override Sample LoadRaw(int index)
    {
        var random = new DataRandom(DataRandom.Derive(_seed, index));
        int n = _size;
        var rgb = new byte[n * n * 3];
        var mask = new byte[n * n];
        // Background: a gradient between two dull colours, with stripes.
        var (a, b) = (Dull(random), Dull(random));
        double stripe = random.Uniform(6, 20);
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
            {
                double t = (double)(x + y) / (2 * n);
                double s = ((int)((x - y) / stripe) & 1) * 0.15;
                for (int c = 0; c < 3; c++) rgb[(y * n + x) * 3 + c] = (byte)Math.Clamp((a[c] * (1 - t) + b[c] * t) * (1 - s), 0, 255);
            }
        int shapes = 2 + random.Next(4);
        for (int k = 0; k < shapes; k++)
        {
            int cls = 1 + random.Next(3);
            var colour = ShapeColour(cls, random);
            double cx = random.Uniform(0.1, 0.9) * n, cy = random.Uniform(0.1, 0.9) * n, r = random.Uniform(0.08, 0.2) * n;
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++)
                {
                    double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
                    bool inside = cls switch
                    {
                        1 => dx * dx + dy * dy <= r * r,
                        2 => Math.Abs(dx) <= r && Math.Abs(dy) <= 0.7 * r,
                        _ => dy <= r * 0.8 && dy >= -r && Math.Abs(dx) <= (dy + r) * 0.6,   // apex up
                    };
                    if (!inside) continue;
                    mask[y * n + x] = (byte)cls;
                    for (int c = 0; c < 3; c++) rgb[(y * n + x) * 3 + c] = colour[c];
                }
        }
        return new Sample(Image.FromPixels(rgb, n, n, 3), Image.FromPixels(mask, n, n, 1), GetId(index), index);
    }

    private static readonly int[][] ShapeBase = [[200, 70, 60], [70, 180, 80], [60, 90, 210]];

    // A class's base colour, each channel moved by up to ±50.
    private static byte[] ShapeColour(int cls, DataRandom random) =>
        ShapeBase[cls - 1].Select(v => (byte)Math.Clamp(v + random.NextInclusive(-50, 50), 0, 255)).ToArray();

    // Low-saturation greys and browns.
    private static byte[] Dull(DataRandom random)
    {
        int v = random.NextInclusive(60, 200);
        return [(byte)(v + random.NextInclusive(0, 25)), (byte)(v + random.NextInclusive(-10, 10)), (byte)(v - random.NextInclusive(0, 25))];
    }
}

internal sealed record DemoSettings(string Output, string Source, string Model, int Epochs)
{
    public static DemoSettings Parse(string[] args)
    {
        var s = new DemoSettings(Path.Combine(Path.GetTempPath(), "fastseg-custom-demo"), "both", "fastscnn", 15);
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            s = args[i] switch
            {
                "--out" => s with { Output = Value() },
                "--source" => s with { Source = Value() is var v && v is "folder" or "code" or "both" ? v : throw new ArgumentException($"--source: '{v}' is not folder, code or both") },
                "--model" => s with { Model = Value() },
                "--epochs" => s with { Epochs = int.TryParse(Value(), out var n) && n > 0 ? n : throw new ArgumentException("--epochs needs a positive integer") },
                _ => throw new ArgumentException($"unknown option '{args[i]}' (see the comment at the top of samples/CustomDataset/Program.cs)"),
            };
        }
        return s;
    }
}

internal sealed class Progress(string name) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress p)
    {
        if (p.Kind == ProgressKind.Iteration && (p.Iteration % 20 == 0 || p.Iteration == 1))
            Console.WriteLine($"  [{name}] iter {p.Iteration,4}/{p.TotalIterations}  loss {p.Loss:F4}  {p.ImagesPerSecond:F1} img/s");
    }
}
