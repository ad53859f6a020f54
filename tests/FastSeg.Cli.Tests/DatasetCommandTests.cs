using FastSeg.Data;
using Xunit;

namespace FastSeg.Cli.Tests;

public class DatasetCommandTests
{
    [Fact]
    public void MakeSyntheticWritesALoadableCityscapesTree()
    {
        var root = Path.Combine(Path.GetTempPath(), "fastseg-cli-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int code = CommandLine.Run(new[] { "dataset", "make-synthetic", root, "--size", "96x48", "--train", "3", "--val", "1" }, stdout, stderr);
            Assert.True(code == 0, stderr.ToString());
            Assert.Contains("wrote 4 samples", stdout.ToString());
            var train = new CityscapesDataset(root, "train");
            Assert.Equal(3, train.Count);
            Assert.Single(new CityscapesDataset(root, "val").Files);
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, true);
        }
    }

    [Fact]
    public void BadSizesAndMissingFoldersAreUsageErrors()
    {
        var stderr = new StringWriter();
        Assert.Equal(2, CommandLine.Run(new[] { "dataset", "make-synthetic", "x", "--size", "big" }, new StringWriter(), stderr));
        Assert.Contains("--size must be WIDTHxHEIGHT", stderr.ToString());
        Assert.Equal(2, CommandLine.Run(new[] { "dataset", "make-synthetic" }, new StringWriter(), new StringWriter()));
    }
}
