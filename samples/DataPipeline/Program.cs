// Generates a small synthetic Cityscapes tree, loads it with the training pipeline on two worker threads, and writes
// an augmented sample with its mask next to it (augmented.png) so the augmentation can be looked at.
//
//   dotnet run --project samples/DataPipeline -c Release [-- OUTPUT_DIR]
using FastSeg.Data;

string output = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "fastseg-data-demo");
var root = Path.Combine(output, "cityscapes");
if (!Directory.Exists(Path.Combine(root, "leftImg8bit")))
{
    SyntheticCityscapes.Generate(root, new SyntheticCityscapesOptions { Width = 1024, Height = 512, TrainCount = 8, ValCount = 2, Seed = 1 });
    Console.WriteLine($"wrote a synthetic Cityscapes tree to {root}");
}

var train = new CityscapesDataset(root, "train") { Transform = Pipelines.Zh320Train(cropHeight: 384, cropWidth: 384) };
Console.WriteLine($"{train.Count} training samples, {train.NumClasses} classes; transform: {train.Transform}");

var loader = new DataLoader(train, batchSize: 4, shuffle: true, dropLast: true, numWorkers: 2, seed: 0);
for (int epoch = 0; epoch < 2; epoch++)
{
    foreach (var batch in loader)
    {
        using (batch)
        {
            var labels = batch.Masks!.ToArray<long>();
            var present = labels.Where(v => v != train.IgnoreIndex).Distinct().OrderBy(v => v).Select(v => train.Labels!.ClassNames[(int)v]);
            Console.WriteLine($"epoch {batch.Epoch} batch {batch.Position}: images {string.Join("x", batch.Images.shape)}, " +
                              $"masks {string.Join("x", batch.Masks.shape)}, ids {string.Join(", ", batch.Ids)}");
            Console.WriteLine($"  classes present: {string.Join(", ", present)}");
        }
    }
}

// One augmented sample (without normalisation, to look at) beside its colourised mask.
train.Transform = new Compose(new Scale(1.0), new RandomScale(0.5, 2.0, probability: 1.0),
    new PadIfNeeded(384, 384, BorderMode.Constant, new double[] { 0, 0, 0 }, 255), new RandomCrop(384, 384),
    new ColorJitter(0.5, 0.5, 0.5, 0.2, probability: 1.0), new HorizontalFlip(0.5));
using var sample = train.Get(3, seed: 42);
using var colour = train.Labels!.Colorize(sample.Mask!);
using var both = new Image(sample.Width * 2, sample.Height, 3);
for (int y = 0; y < sample.Height; y++)
{
    int row = y * sample.Width * 3;
    sample.Image.Pixels.Slice(row, sample.Width * 3).CopyTo(both.Pixels.Slice(2 * row, sample.Width * 3));
    colour.Pixels.Slice(row, sample.Width * 3).CopyTo(both.Pixels.Slice(2 * row + sample.Width * 3, sample.Width * 3));
}
var preview = Path.Combine(output, "augmented.png");
both.Save(preview);
Console.WriteLine($"wrote {preview}");
