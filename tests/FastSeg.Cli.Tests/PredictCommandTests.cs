using FastSeg.Cli.Commands;
using FastSeg.Data;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Cli.Tests;

/// <summary>
/// A folder of three images whose sizes ENet (input multiple 8) cannot take as they are — 333x217, 1000x3 and 65x129
/// (W x H), the last in a sub-folder — and checkpoints with random weights.
/// </summary>
public sealed class PredictFixture : IDisposable
{
    public static readonly (string Name, int Width, int Height)[] Images =
    {
        ("wide.png", 333, 217), ("strip.jpg", 1000, 3), ("sub/tall.png", 65, 129),
    };

    public PredictFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "fastseg-cli-predict", Guid.NewGuid().ToString("N"));
        ImageDir = Path.Combine(Root, "images");
        Directory.CreateDirectory(Path.Combine(ImageDir, "sub"));
        var random = new Random(5);
        foreach (var (name, w, h) in Images)
        {
            var pixels = new byte[w * h * 3];
            random.NextBytes(pixels);
            using var image = Image.FromPixels(pixels, w, h, 3);
            image.Save(Path.Combine(ImageDir, name), quality: name.EndsWith(".jpg") ? 95 : -1);
        }
        manual_seed(11);
        EnetCheckpoint = Path.Combine(Root, "enet.pth");
        using (var enet = ModelZoo.Create("enet")) enet.SaveWeights(EnetCheckpoint);
        Enet5Checkpoint = Path.Combine(Root, "enet5.pth");
        using (var enet5 = ModelZoo.Create("enet", numClasses: 5)) enet5.SaveWeights(Enet5Checkpoint);
        FastScnnCheckpoint = Path.Combine(Root, "fastscnn.pth");
        using (var fastscnn = ModelZoo.Create("fastscnn")) fastscnn.SaveWeights(FastScnnCheckpoint);
        TrainerCheckpoint = Path.Combine(Root, "last.pth");
        using (var weights = ModelCheckpoint.Read(EnetCheckpoint))
            save(new Dictionary<string, object?>
            {
                ["cur_epoch"] = 2L,
                ["state_dict"] = weights.StateDict.ToDictionary(kv => kv.Key, kv => kv.Value),
                ["config"] = """{"model": "enet", "encoder": null, "num_class": 19, "use_aux": false}""",
            }, TrainerCheckpoint);
    }

    public string Root { get; }
    public string ImageDir { get; }
    public string EnetCheckpoint { get; }
    public string Enet5Checkpoint { get; }
    public string FastScnnCheckpoint { get; }
    public string TrainerCheckpoint { get; }

    public string NewDir(string name)
    {
        var dir = Path.Combine(Root, name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

public class PredictCommandTests : IClassFixture<PredictFixture>
{
    private readonly PredictFixture _f;

    public PredictCommandTests(PredictFixture fixture) => _f = fixture;

    private static (int Code, string Stdout, string Stderr) Run(PredictSettings settings)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PredictCommand.Run(settings, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private PredictSettings Settings(string output, string? input = null, string? checkpoint = null) => new()
    {
        Input = input ?? _f.ImageDir,
        OutputDir = output,
        Checkpoint = checkpoint ?? _f.EnetCheckpoint,
        Model = "enet",
    };

    private static string OneLine(string stderr)
    {
        var lines = stderr.TrimEnd('\n', '\r').Split('\n');
        Assert.True(lines.Length == 1, $"expected one line on stderr, got:\n{stderr}");
        Assert.StartsWith("fastseg predict: ", lines[0]);
        return lines[0];
    }

    /// <summary>
    /// The ids the library predicts for <paramref name="imagePath"/> with the same weights and mode (and by default the
    /// inference form at auto precision, as the command runs).
    /// </summary>
    private static byte[] ExpectedIds(string checkpointPath, string imagePath, InputSizeMode mode, PredictorOptions? options = null)
    {
        using var scope = NewDisposeScope();
        using var checkpoint = ModelCheckpoint.Read(checkpointPath);
        using var model = checkpoint.CreateModel("enet");
        using var image = Image.Read(imagePath);
        using var predictor = new SegmentationPredictor(model, (options ?? new PredictorOptions { Precision = InferencePrecision.Auto }) with { Mode = mode });
        var ids = predictor.Predict(image.ToTensor());
        return ids.ToArray<long>().Select(v => (byte)v).ToArray();
    }

    [Fact]
    public void MultiScaleFlipAndSlidingWindowsAreThePredictorsAtFp32()
    {
        var output = _f.NewDir("out");
        string image = Path.Combine(_f.ImageDir, "wide.png");
        var (code, stdout, stderr) = Run(Settings(output, image) with
        {
            Precision = InferencePrecision.Fp32, Scales = new[] { 0.75, 1.0 }, Flip = true, Window = (160, 120), Stride = (120, 100),
        });
        Assert.True(code == 0, stderr);
        Assert.Contains("fp32, scales 0.75,1, flip, 160x120 windows", stdout);
        using var ids = Image.Read(Path.Combine(output, "wide_trainIds.png"), ImageReadMode.Unchanged);
        var expected = ExpectedIds(_f.EnetCheckpoint, image, InputSizeMode.Pad, new PredictorOptions
        {
            Precision = InferencePrecision.Fp32, Scales = new[] { 0.75, 1.0 }, Flip = true, Window = (120, 160), Stride = (100, 120),
        });
        Assert.Equal(expected, ids.Pixels.ToArray());
    }

    [Fact]
    public void WindowOptionsOutOfRangeAreOneLine()
    {
        var output = _f.NewDir("out");
        var (code, _, stderr) = Run(Settings(output) with { Stride = (8, 8) });
        Assert.Equal(2, code);
        Assert.Contains("--stride needs --window", OneLine(stderr));
        (code, _, stderr) = Run(Settings(output, Path.Combine(_f.ImageDir, "wide.png")) with { Window = (4000, 40) });
        Assert.Equal(1, code);
        Assert.Contains("sliding window 4000x40 (WxH) is larger than the image", OneLine(stderr));
    }

    [Theory]
    [InlineData(InputSizeMode.Pad)]
    [InlineData(InputSizeMode.Resize)]
    public void FolderGivesThreePngsPerImageAtTheInputSize(InputSizeMode mode)
    {
        var output = _f.NewDir("out");
        var (code, stdout, stderr) = Run(Settings(output) with { Mode = mode, Alpha = 0.4 });
        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        Assert.Contains($"enet, 19 classes, {mode.ToString().ToLowerInvariant()} mode", stdout);
        Assert.Contains("predicted 3 of 3 images", stdout);
        foreach (var (name, w, h) in PredictFixture.Images)
        {
            string stem = Path.Combine(output, Path.GetDirectoryName(name)!, Path.GetFileNameWithoutExtension(name));
            using var ids = Image.Read(stem + "_trainIds.png", ImageReadMode.Unchanged);
            using var colour = Image.Read(stem + "_color.png", ImageReadMode.Unchanged);
            using var overlay = Image.Read(stem + "_overlay.png", ImageReadMode.Unchanged);
            using var input = Image.Read(Path.Combine(_f.ImageDir, name));
            Assert.Equal((w, h, 1, ImageDepth.UInt8), (ids.Width, ids.Height, ids.Channels, ids.Depth));
            Assert.Equal((w, h, 3), (colour.Width, colour.Height, colour.Channels));
            Assert.Equal((w, h, 3), (overlay.Width, overlay.Height, overlay.Channels));

            var idPixels = ids.Pixels.ToArray();
            Assert.Equal(ExpectedIds(_f.EnetCheckpoint, Path.Combine(_f.ImageDir, name), mode), idPixels);
            var c = colour.Pixels;
            var o = overlay.Pixels;
            var x = input.Pixels;
            for (int i = 0; i < idPixels.Length; i++)
            {
                var expected = Palette.Cityscapes[idPixels[i]];
                Assert.Equal(expected, new Rgb(c[3 * i], c[3 * i + 1], c[3 * i + 2]));
                for (int k = 0; k < 3; k++)
                {
                    double blend = 0.6 * x[3 * i + k] + 0.4 * c[3 * i + k];
                    Assert.True(Math.Abs(o[3 * i + k] - blend) <= 0.5 + 1e-9, $"{name} element {3 * i + k}: {o[3 * i + k]} vs {blend}");
                }
            }
        }
    }

    [Fact]
    public void TrainerCheckpointNeedsNoModelNameAndACustomPaletteIsUsed()
    {
        var output = _f.NewDir("out");
        var palettePath = Path.Combine(_f.NewDir("palette"), "palette.txt");
        var colours = Enumerable.Range(0, 19).Select(k => new Rgb((byte)(k * 13), (byte)(255 - k), (byte)(k * 7))).ToArray();
        File.WriteAllLines(palettePath, new[] { "# 19 classes" }.Concat(colours.Select(c => $"#{c.R:x2}{c.G:x2}{c.B:x2}")));
        string image = Path.Combine(_f.ImageDir, "wide.png");
        var (code, stdout, stderr) = Run(Settings(output, image, _f.TrainerCheckpoint) with { Model = null, PaletteFile = palettePath });
        Assert.True(code == 0, stderr);
        Assert.StartsWith($"{_f.TrainerCheckpoint}: enet, 19 classes, pad mode", stdout);
        using var ids = Image.Read(Path.Combine(output, "wide_trainIds.png"), ImageReadMode.Unchanged);
        using var colour = Image.Read(Path.Combine(output, "wide_color.png"));
        Assert.Equal(ExpectedIds(_f.EnetCheckpoint, image, InputSizeMode.Pad), ids.Pixels.ToArray());
        var c = colour.Pixels;
        var idPixels = ids.Pixels;
        for (int i = 0; i < idPixels.Length; i++)
            Assert.Equal(colours[idPixels[i]], new Rgb(c[3 * i], c[3 * i + 1], c[3 * i + 2]));
    }

    [Fact]
    public void FixedInferenceSizeKeepsTheOutputAtTheInputSize()
    {
        var output = _f.NewDir("out");
        int threads = get_num_threads();
        var (code, _, stderr) = Run(Settings(output, Path.Combine(_f.ImageDir, "sub", "tall.png")) with { Size = (100, 60), Threads = 1 });
        Assert.True(code == 0, stderr);
        Assert.Equal(threads, get_num_threads()); // --threads applies to the command only
        using var ids = Image.Read(Path.Combine(output, "tall_trainIds.png"), ImageReadMode.Unchanged);
        Assert.Equal((65, 129), (ids.Width, ids.Height));
    }

    [Theory]
    [InlineData("predictions")]
    [InlineData(".")]
    public void EarlierResultsInTheInputFolderAreNotReadAsInput(string outputUnderInput)
    {
        var input = _f.NewDir("in");
        File.Copy(Path.Combine(_f.ImageDir, "sub", "tall.png"), Path.Combine(input, "tall.png"));
        var output = Path.GetFullPath(Path.Combine(input, outputUnderInput));
        for (int run = 0; run < 2; run++)
        {
            var (code, stdout, stderr) = Run(Settings(output, input));
            Assert.True(code == 0, stderr);
            Assert.Contains("predicted 1 of 1 image ", stdout);
        }
    }

    [Fact]
    public void CommandLineParsesIntoTheSameSettings()
    {
        // Through the System.CommandLine tree: options map onto PredictSettings (mode, alpha, model, output).
        var output = _f.NewDir("cli");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CommandLine.Run(["predict", Path.Combine(_f.ImageDir, "sub", "tall.png"), "--checkpoint", _f.EnetCheckpoint,
            "--model", "enet", "-o", output, "--mode", "resize", "--alpha", "0.25"], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        Assert.Contains("enet, 19 classes, resize mode", stdout.ToString());
        using var ids = Image.Read(Path.Combine(output, "tall_trainIds.png"), ImageReadMode.Unchanged);
        Assert.Equal((65, 129), (ids.Width, ids.Height));
        Assert.Equal(ExpectedIds(_f.EnetCheckpoint, Path.Combine(_f.ImageDir, "sub", "tall.png"), InputSizeMode.Resize), ids.Pixels.ToArray());

        var badMode = new StringWriter();
        Assert.Equal(2, CommandLine.Run(["predict", _f.ImageDir, "-c", _f.EnetCheckpoint, "-o", output, "--mode", "stretch"], new StringWriter(), badMode));
        Assert.Contains("--mode must be pad or resize, got 'stretch'", badMode.ToString());
        var noOutput = new StringWriter();
        Assert.Equal(2, CommandLine.Run(["predict", _f.ImageDir, "-c", _f.EnetCheckpoint], new StringWriter(), noOutput));
        Assert.Contains("--output", noOutput.ToString());
    }

    [Fact]
    public void MissingInputIsOneLine()
    {
        var missing = Path.Combine(_f.Root, "no-such-folder");
        var (code, _, stderr) = Run(Settings(_f.NewDir("out"), missing));
        Assert.Equal(1, code);
        Assert.Equal($"fastseg predict: {missing}: no such image file or folder", OneLine(stderr));
    }

    [Fact]
    public void UnreadableImageIsOneLineNamingTheFile()
    {
        var dir = _f.NewDir("broken");
        var broken = Path.Combine(dir, "broken.png");
        File.WriteAllBytes(broken, new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3 });
        var (code, stdout, stderr) = Run(Settings(_f.NewDir("out"), broken));
        Assert.Equal(1, code);
        Assert.Contains(broken, OneLine(stderr));
        Assert.Contains("predicted 0 of 1 image", stdout);
    }

    [Fact]
    public void CheckpointOfAnotherNetworkIsOneLine()
    {
        var (code, _, stderr) = Run(Settings(_f.NewDir("out"), checkpoint: _f.FastScnnCheckpoint));
        Assert.Equal(1, code);
        var line = OneLine(stderr);
        Assert.StartsWith($"fastseg predict: {_f.FastScnnCheckpoint}: the weights do not fit enet (19 classes): ", line);
        Assert.Contains("no key in common", line);
    }

    [Fact]
    public void CheckpointWithAnotherClassCountIsOneLine()
    {
        var (code, _, stderr) = Run(Settings(_f.NewDir("out"), checkpoint: _f.Enet5Checkpoint) with { NumClasses = 19 });
        Assert.Equal(1, code);
        var line = OneLine(stderr);
        Assert.Contains("the weights do not fit enet (19 classes)", line);
        Assert.EndsWith("the checkpoint was trained for 5 classes", line);
    }

    [Fact]
    public void ClassCountIsTakenFromTheCheckpointWhenNotGiven()
    {
        var output = _f.NewDir("out");
        var (code, stdout, stderr) = Run(Settings(output, Path.Combine(_f.ImageDir, "sub", "tall.png"), _f.Enet5Checkpoint));
        Assert.True(code == 0, stderr);
        Assert.Contains("enet, 5 classes", stdout);
        using var ids = Image.Read(Path.Combine(output, "tall_trainIds.png"), ImageReadMode.Unchanged);
        Assert.True(ids.Pixels.ToArray().All(v => v < 5));
    }

    [Fact]
    public void BadPaletteFileIsOneLineNamingFileAndLine()
    {
        var palettePath = Path.Combine(_f.NewDir("palette"), "pal.txt");
        File.WriteAllText(palettePath, "128 64 128\n12 300 4\n");
        var (code, _, stderr) = Run(Settings(_f.NewDir("out")) with { PaletteFile = palettePath });
        Assert.Equal(1, code);
        Assert.StartsWith($"fastseg predict: {palettePath}:2: '300' is not a colour value", OneLine(stderr));

        File.WriteAllText(palettePath, "128 64 128\n#102030\n");
        (code, _, stderr) = Run(Settings(_f.NewDir("out")) with { PaletteFile = palettePath });
        Assert.Equal(1, code);
        Assert.Equal($"fastseg predict: {palettePath}: 2 colours for the 19 classes of enet", OneLine(stderr));
    }

    [Fact]
    public void UnknownModelAndMissingCheckpointAreOneLine()
    {
        var (code, _, stderr) = Run(Settings(_f.NewDir("out")) with { Model = "nosuchnet" });
        Assert.Equal(1, code);
        var line = OneLine(stderr);
        Assert.Contains("unknown model 'nosuchnet'; valid names: ", line);
        Assert.DoesNotContain("(Parameter", line);

        (code, _, stderr) = Run(Settings(_f.NewDir("out")) with { Model = null });
        Assert.Equal(1, code);
        Assert.Equal($"fastseg predict: {_f.EnetCheckpoint}: no network named and the checkpoint does not record one (it has no trainer config); give the model name", OneLine(stderr));

        var missing = Path.Combine(_f.Root, "none.pth");
        (code, _, stderr) = Run(Settings(_f.NewDir("out"), checkpoint: missing));
        Assert.Equal(1, code);
        Assert.Equal($"fastseg predict: {missing}: checkpoint file not found", OneLine(stderr));
    }

    [Theory]
    [InlineData(1.5, null, null, "--alpha must be in [0, 1], got 1.5")]
    [InlineData(0.5, 0, null, "--classes must be in [1, 256]")]
    [InlineData(0.5, null, 0, "--threads must be at least 1, got 0")]
    public void SettingsOutOfRangeAreUsageErrors(double alpha, int? classes, int? threads, string message)
    {
        var (code, stdout, stderr) = Run(Settings(_f.NewDir("out")) with { Alpha = alpha, NumClasses = classes, Threads = threads });
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(message, OneLine(stderr));
    }
}
