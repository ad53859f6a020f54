using FastSeg.Data;

namespace FastSeg.Cli.Commands;

/// <summary><c>fastseg dataset make-synthetic</c>: writes the synthetic street scenes in the Cityscapes layout.</summary>
internal static class DatasetCommands
{
    public static int MakeSynthetic(Arguments args, TextWriter stdout)
    {
        if (args.Positional.Count != 1) throw new UsageException("dataset make-synthetic needs exactly one output folder");
        string root = args.Positional[0];
        var size = args.Options.TryGetValue("--size", out var s) ? BenchCommand.ParseSize(s) : (512, 256);
        var options = new SyntheticCityscapesOptions
        {
            Width = size.Item1,
            Height = size.Item2,
            TrainCount = args.GetInt("--train", 4),
            ValCount = args.GetInt("--val", 2),
            TestCount = args.GetInt("--test", 0),
            Seed = args.GetInt("--seed", 0),
        };
        if (options.TrainCount < 0 || options.ValCount < 0 || options.TestCount < 0)
            throw new UsageException("--train, --val and --test must not be negative");
        var files = SyntheticCityscapes.Generate(root, options);
        stdout.WriteLine($"wrote {files.Count} samples ({options.TrainCount} train, {options.ValCount} val, {options.TestCount} test) " +
                         $"at {options.Width}x{options.Height} under {Path.GetFullPath(root)}");
        return 0;
    }
}
