// Throughput of the reference training pipeline (zh320's, at crop 1024): decode a 2048x1024 PNG pair, random scale
// 0.5-2.0 (p 0.5), pad (reflect-101), crop 1024x1024, colour jitter (p 0.5), horizontal flip, normalise, batch.
// tools/bench_data_pipeline.py measures the same pipeline with Python, OpenCV and torch's DataLoader on the same files.
//
//   dotnet run --project benchmarks/FastSeg.Data.Benchmarks -c Release -- [--root DIR] [--count 16] [--batch 2]
//       [--workers 1,2] [--repeats 3] [--opencv-threads 1]
//
// For each worker count the loader runs `repeats` epochs over `count` images. An epoch's throughput counts the images
// after the first batch, from the moment that batch arrives to the end (steady state: thread start-up and the first
// decode are left out, as in the Python script). The best epoch is reported with the median.
using System.Diagnostics;
using System.Globalization;
using FastSeg.Data;

var options = Args.Parse(args);
string root = options.Get("root", Path.Combine(Path.GetTempPath(), "fastseg-data-bench"));
int count = int.Parse(options.Get("count", "16"), CultureInfo.InvariantCulture);
int batchSize = int.Parse(options.Get("batch", "2"), CultureInfo.InvariantCulture);
int repeats = int.Parse(options.Get("repeats", "3"), CultureInfo.InvariantCulture);
int[] workers = options.Get("workers", "1,2").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
int cvThreads = int.Parse(options.Get("opencv-threads", "1"), CultureInfo.InvariantCulture);

var marker = Path.Combine(root, $"generated-{count}.txt");
if (!File.Exists(marker))
{
    Console.WriteLine($"generating {count} synthetic 2048x1024 Cityscapes pairs in {root} ...");
    if (Directory.Exists(root)) Directory.Delete(root, true);
    var sw = Stopwatch.StartNew();
    // PNG level 6 (zlib's default, as most tools write Cityscapes-like files).
    SyntheticCityscapes.Generate(root, new SyntheticCityscapesOptions { Width = 2048, Height = 1024, TrainCount = count, ValCount = 0, Seed = 1, PngCompression = 6 });
    File.WriteAllText(marker, "ok");
    Console.WriteLine($"  done in {sw.Elapsed.TotalSeconds:F1} s");
}

Image.OpenCvThreads = cvThreads;
var dataset = new CityscapesDataset(root, "train") { Transform = Pipelines.Benchmark() };
long bytes = dataset.Files.Sum(f => new FileInfo(f.ImagePath).Length + new FileInfo(f.MaskPath!).Length);
Console.WriteLine($"{dataset.Count} pairs, {bytes / dataset.Count / 1024} KiB per pair; pipeline {dataset.Transform}");
Console.WriteLine($"batch {batchSize}, OpenCV threads {Image.OpenCvThreads}, {Environment.ProcessorCount} logical CPUs");

// Single-thread cost of each stage: the fastest of `stageRuns` runs after one warm-up (the minimum is the figure least
// disturbed by other load on the machine), with the median beside it.
{
    int stageRuns = int.Parse(options.Get("stage-runs", "9"), CultureInfo.InvariantCulture);
    var f = dataset.Files[0];
    var raw = new CityscapesDataset(root, "train");
    using var loaded = raw.Get(0, 0);
    var buffer = new float[3 * 1024 * 1024];
    var maskBuffer = new long[1024 * 1024];
    string Stage(Action action)
    {
        action();
        var times = new List<double>();
        for (int k = 0; k < stageRuns; k++)
        {
            var t = Stopwatch.StartNew();
            action();
            times.Add(t.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return $"{times[0]:F1} ms (median {times[times.Count / 2]:F1})";
    }
    int seed = 0;
    Console.WriteLine($"stage decode image: {Stage(() => Image.Read(f.ImagePath).Dispose())}");
    Console.WriteLine($"stage decode mask + map: {Stage(() => raw.Get(0, 0).Dispose())} (includes the image decode)");
    foreach (var (name, factor, jitter) in new[] { ("crop only", 1.0, false), ("scale 2.0 + jitter", 2.0, true), ("scale 0.75 + pad + jitter", 0.75, true) })
    {
        var pipe = new Compose(new Scale(factor), new PadIfNeeded(1024, 1024, BorderMode.Reflect101), new RandomCrop(1024, 1024),
            new ColorJitter(0.5, 0.5, 0.5, 0.2, probability: jitter ? 1.0 : 0.0), new HorizontalFlip(1.0), new Normalize());
        Console.WriteLine($"stage augment + normalise ({name}): " + Stage(() =>
        {
            using var s = new Sample(loaded.Image.Clone(), loaded.Mask!.Clone(), "x");
            pipe.Apply(s, seed++);
            s.Image.CopyToChw(buffer, s.Normalization);
            s.Mask!.CopyToInt64(maskBuffer);
        }));
    }
    Console.WriteLine($"stage copy of the decoded pair (part of each augment figure above): {Stage(() => { loaded.Image.Clone().Dispose(); loaded.Mask!.Clone().Dispose(); })}");
}

foreach (int w in workers)
{
    var loader = new DataLoader(dataset, batchSize, shuffle: true, dropLast: true, numWorkers: w, seed: 0);
    var rates = new List<double>();
    for (int r = 0; r < repeats + 1; r++)
    {
        var sw = Stopwatch.StartNew();
        double first = -1;
        int images = 0, firstSize = 0;
        foreach (var batch in loader)
        {
            if (first < 0)
            {
                first = sw.Elapsed.TotalSeconds;
                firstSize = batch.Count;
            }
            images += batch.Count;
            batch.Dispose();
        }
        double total = sw.Elapsed.TotalSeconds;
        double rate = (images - firstSize) / (total - first);
        if (r == 0)
        {
            Console.WriteLine($"workers {w}: warm-up epoch {images / total:F2} images/s (whole epoch)");
            continue;
        }
        rates.Add(rate);
        Console.WriteLine($"workers {w}: epoch {r}: {rate:F2} images/s steady ({images} images, {total:F2} s, first batch after {first:F2} s)");
    }
    rates.Sort();
    Console.WriteLine($"RESULT fastseg workers={w} best={rates[^1]:F2} median={rates[rates.Count / 2]:F2} images/s");
}

internal sealed class Args
{
    private readonly Dictionary<string, string> _values = new();

    public static Args Parse(string[] args)
    {
        var a = new Args();
        for (int k = 0; k < args.Length; k++)
        {
            if (!args[k].StartsWith("--", StringComparison.Ordinal) || k + 1 >= args.Length)
                throw new ArgumentException($"expected --name value pairs, got '{args[k]}'");
            a._values[args[k][2..]] = args[++k];
        }
        return a;
    }

    public string Get(string name, string fallback) => _values.TryGetValue(name, out var v) ? v : fallback;
}
