using System.CommandLine;
using FastSeg.Data;

namespace FastSeg.Cli.Commands;

/// <summary><c>fastseg dataset make-synthetic</c>: writes the synthetic street scenes in the Cityscapes layout.</summary>
internal static class DatasetCommands
{
    /// <summary>The <c>dataset</c> command group.</summary>
    public static Command Build(TextWriter stdout)
    {
        var dir = new Argument<string>("DIR") { Description = "output folder (gets leftImg8bit/ and gtFine/)" };
        var size = Options.Size("--size", "image size (default 512x256)");
        var train = Options.Int("--train", 4, "training images", min: 0);
        var val = Options.Int("--val", 2, "validation images", min: 0);
        var test = Options.Int("--test", 0, "test images", min: 0);
        var seed = Options.Int("--seed", 0, "random seed (the same seed gives the same files)");
        var make = new Command("make-synthetic", "street scenes with real label ids in the Cityscapes layout") { dir, size, train, val, test, seed };
        make.SetAction(parse =>
        {
            var (width, height) = parse.GetValue(size) ?? (512, 256);
            return MakeSynthetic(parse.GetValue(dir)!, new SyntheticCityscapesOptions
            {
                Width = width,
                Height = height,
                TrainCount = parse.GetValue(train),
                ValCount = parse.GetValue(val),
                TestCount = parse.GetValue(test),
                Seed = parse.GetValue(seed),
            }, stdout);
        });
        return new Command("dataset", "make datasets") { make };
    }

    public static int MakeSynthetic(string root, SyntheticCityscapesOptions options, TextWriter stdout)
    {
        var files = SyntheticCityscapes.Generate(root, options);
        stdout.WriteLine($"wrote {files.Count} samples ({options.TrainCount} train, {options.ValCount} val, {options.TestCount} test) " +
                         $"at {options.Width}x{options.Height} under {Path.GetFullPath(root)}");
        return 0;
    }
}
