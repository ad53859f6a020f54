using System.Text.Json;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using FastSeg.Torch;
using FastSeg.Torch.Modules;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests;

/// <summary>
/// The network of tools/make_predict_fixtures.py: conv 3x3 stride 2 (3 → 6), relu, conv 3x3 stride 4 (6 → 5),
/// bilinear upsampling to the input size; height and width must be multiples of 8.
/// </summary>
internal sealed class TinyNet : SegmentationModel
{
    private readonly Conv2d conv1;
    private readonly Conv2d conv2;

    public TinyNet(int numClasses = 5) : base(nameof(TinyNet), numClasses, inputMultiple: 8)
    {
        conv1 = nn.Conv2d(3, 6, 3, stride: 2, padding: 1);
        conv2 = nn.Conv2d(6, numClasses, 3, stride: 4, padding: 1);
        RegisterComponents();
    }

    protected override SegmentationOutput Compute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv2.call(nn.functional.relu(conv1.call(input)));
        var logits = nn.functional.interpolate(x, new[] { input.shape[2], input.shape[3] }, mode: nn.InterpolationMode.Bilinear, align_corners: false);
        return new SegmentationOutput(logits.MoveToOuterDisposeScope());
    }
}

public class SegmentationPredictorTests
{
    private static string FixturePath(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "predict", file);

    private static JsonElement TinyCase() =>
        JsonDocument.Parse(File.ReadAllText(FixturePath("predict.json"))).RootElement.GetProperty("tiny").Clone();

    private static Tensor FixtureTensor(JsonElement c, string key)
    {
        var e = c.GetProperty(key);
        var shape = e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        var data = e.GetProperty("data").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        return e.GetProperty("dtype").GetString() == "uint8"
            ? tensor(data.Select(v => (byte)v).ToArray(), shape)
            : tensor(data.Select(v => (float)v).ToArray(), shape);
    }

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var diff = (expected - actual).abs().max();
        double max = diff.item<double>();
        Assert.True(max <= tolerance, $"max abs difference {max} > {tolerance}");
    }

    private static TinyNet LoadTiny()
    {
        var net = new TinyNet();
        using var checkpoint = ModelCheckpoint.Read(FixturePath("tiny_state_dict.pth"));
        checkpoint.LoadInto(net);
        return net;
    }

    [Theory]
    [InlineData(InputSizeMode.Pad, "pad")]
    [InlineData(InputSizeMode.Resize, "resize")]
    public void LogitsMatchPyTorchAtAnOddSize(InputSizeMode mode, string key)
    {
        using var scope = NewDisposeScope();
        using var net = LoadTiny();
        var c = TinyCase();
        var predictor = new SegmentationPredictor(net, new PredictorOptions { Mode = mode });
        var logits = predictor.PredictLogits(FixtureTensor(c, "pixels"));
        AssertClose(FixtureTensor(c, key), logits, 1e-5);
    }

    [Fact]
    public void FixedInferenceSizeMatchesPyTorch()
    {
        using var scope = NewDisposeScope();
        using var net = LoadTiny();
        var c = TinyCase();
        var predictor = new SegmentationPredictor(net, new PredictorOptions { InferenceSize = (12, 20) });
        Assert.Equal((16, 24), predictor.NetworkSize(19, 13));
        var logits = predictor.PredictLogits(FixtureTensor(c, "pixels"));
        AssertClose(FixtureTensor(c, "pad_at_12x20"), logits, 1e-5);
    }

    [Fact]
    public void DataParallelLegacyCheckpointLoadsTheSameWeights()
    {
        using var scope = NewDisposeScope();
        using var checkpoint = ModelCheckpoint.Read(FixturePath("tiny_dataparallel_legacy.pth"));
        Assert.Equal("model", checkpoint.WeightsEntry);
        Assert.Null(checkpoint.ModelName);
        Assert.Null(checkpoint.Training);
        Assert.Equal(new[] { "conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight" }, checkpoint.StateDict.Keys.Order());
        using var net = new TinyNet();
        checkpoint.LoadInto(net);
        var c = TinyCase();
        var logits = new SegmentationPredictor(net).PredictLogits(FixtureTensor(c, "pixels"));
        AssertClose(FixtureTensor(c, "pad"), logits, 1e-5);
    }

    [Theory]
    [InlineData(217, 333)]
    [InlineData(3, 1000)]
    [InlineData(129, 65)]
    public void OutputsHaveExactlyTheInputSizeInBothModes(int height, int width)
    {
        using var model = ModelZoo.Create("enet");
        Assert.Equal(8, model.InputMultiple);
        Assert.True(height % 8 != 0 || width % 8 != 0, "the size must need padding");
        using var scope = NewDisposeScope();
        var pixels = randint(0, 256, new long[] { 3, height, width }, ScalarType.Byte);
        foreach (var mode in new[] { InputSizeMode.Pad, InputSizeMode.Resize })
        {
            var predictor = new SegmentationPredictor(model, new PredictorOptions { Mode = mode });
            var ids = predictor.Predict(pixels);
            Assert.Equal(new long[] { height, width }, ids.shape);
            Assert.Equal(ScalarType.Int64, ids.dtype);
            Assert.InRange(ids.min().item<long>(), 0, 18);
            Assert.InRange(ids.max().item<long>(), 0, 18);
            var logits = predictor.PredictLogits(pixels.unsqueeze(0));
            Assert.Equal(new long[] { 1, 19, height, width }, logits.shape);
        }
    }

    [Fact]
    public void PadModeEqualsTheNetworkOnAManuallyPaddedImageCroppedBack()
    {
        using var model = ModelZoo.Create("enet");
        using var scope = NewDisposeScope();
        manual_seed(3);
        var pixels = randint(0, 256, new long[] { 2, 3, 217, 333 }, ScalarType.Byte);
        var predictor = new SegmentationPredictor(model);
        Assert.Equal((224, 336), predictor.NetworkSize(217, 333));
        var logits = predictor.PredictLogits(pixels);

        var mean = tensor(new[] { 0.485f, 0.456f, 0.406f }, new long[] { 3, 1, 1 }) * 255f;
        var std = tensor(new[] { 0.229f, 0.224f, 0.225f }, new long[] { 3, 1, 1 }) * 255f;
        var x = (pixels.to_type(ScalarType.Float32) - mean) / std;
        model.eval();
        Tensor expected;
        using (no_grad())
            expected = model.call(nn.functional.pad(x, new long[] { 0, 3, 0, 7 })).narrow(2, 0, 217).narrow(3, 0, 333);
        AssertClose(expected, logits, 1e-5);
        // class ids are the argmax over classes (compared with the predictor's own logits: the manual path's last-bit
        // differences could flip near ties)
        Assert.True(predictor.Predict(pixels).equal(logits.argmax(1)));
    }

    [Fact]
    public void ResizeModeRunsAtTheNearestMultipleAndResizesTheLogitsBack()
    {
        using var model = ModelZoo.Create("enet");
        using var scope = NewDisposeScope();
        var pixels = randint(0, 256, new long[] { 3, 129, 65 }, ScalarType.Byte);
        var predictor = new SegmentationPredictor(model, new PredictorOptions { Mode = InputSizeMode.Resize });
        Assert.Equal((128, 64), predictor.NetworkSize(129, 65));
        Assert.Equal((8, 1000), predictor.NetworkSize(3, 1000)); // never below one multiple
        var logits = predictor.PredictLogits(pixels);

        var x = predictor.Normalize(pixels).unsqueeze(0);
        model.eval();
        Tensor expected;
        using (no_grad())
        {
            var small = nn.functional.interpolate(x, new long[] { 128, 64 }, mode: nn.InterpolationMode.Bilinear, align_corners: false);
            expected = nn.functional.interpolate(model.call(small), new long[] { 129, 65 }, mode: nn.InterpolationMode.Bilinear, align_corners: false).squeeze(0);
        }
        AssertClose(expected, logits, 1e-5);
    }

    [Fact]
    public void AnyInputSizeNetworkRunsUnpaddedAndKeepsItsTrainingMode()
    {
        using var model = ModelZoo.Create("fastscnn");
        Assert.Equal(1, model.InputMultiple);
        using var scope = NewDisposeScope();
        var pixels = randint(0, 256, new long[] { 1, 3, 37, 61 }, ScalarType.Byte);
        var predictor = new SegmentationPredictor(model);
        Assert.Equal((37, 61), predictor.NetworkSize(37, 61));
        model.train();
        var logits = predictor.PredictLogits(pixels);
        Assert.True(model.training, "the model's training mode must be restored");
        model.eval();
        Tensor expected;
        using (no_grad()) expected = model.call(predictor.Normalize(pixels));
        AssertClose(expected, logits, 1e-6);
    }

    [Fact]
    public void NormalizeUsesTheTrainingPipelinesImageNetStatistics()
    {
        using var model = new TinyNet();
        using var scope = NewDisposeScope();
        var pixels = tensor(new byte[] { 0, 255, 124 }, new long[] { 3, 1, 1 });
        var x = new SegmentationPredictor(model).Normalize(pixels).ToArray<float>();
        Assert.Equal((0 - 0.485) / 0.229, x[0], 5);
        Assert.Equal((1 - 0.456) / 0.224, x[1], 5);
        Assert.Equal((124 / 255.0 - 0.406) / 0.225, x[2], 5);
    }

    [Fact]
    public void BadInputsAreClearErrors()
    {
        using var model = new TinyNet();
        using var scope = NewDisposeScope();
        var predictor = new SegmentationPredictor(model);
        var e = Assert.Throws<ArgumentException>(() => predictor.Predict(zeros(1, 16, 16)));
        Assert.Contains("(N, 3, H, W) or (3, H, W)", e.Message);
        Assert.Contains("[1, 16, 16]", e.Message);
        Assert.Throws<ArgumentException>(() => new SegmentationPredictor(model, new PredictorOptions { Mean = new[] { 0.5, 0.5 } }));
        Assert.Throws<ArgumentException>(() => new SegmentationPredictor(model, new PredictorOptions { Std = new[] { 0.0 } }));
        Assert.Throws<ArgumentException>(() => new SegmentationPredictor(model, new PredictorOptions { InferenceSize = (0, 8) }));
    }
}

public class ModelCheckpointTests
{
    private static string TempFile(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "fastseg-models-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }

    private static void AssertSameWeights(SegmentationModel expected, SegmentationModel actual)
    {
        var a = expected.state_dict();
        var b = actual.state_dict();
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (key, t) in a) Assert.True(t.equal(b[key]), key);
    }

    [Fact]
    public void BareStateDictBuildsTheNamedNetworkWithItsClassCount()
    {
        var path = TempFile("enet5.pth");
        using var source = ModelZoo.Create("enet", numClasses: 5);
        source.SaveWeights(path);
        using var checkpoint = ModelCheckpoint.Read(path);
        Assert.Null(checkpoint.WeightsEntry);
        using var model = checkpoint.CreateModel("enet"); // no class count given: read from the classifier's shape
        Assert.Equal(5, model.NumClasses);
        Assert.False(model.training);
        AssertSameWeights(source, model);
    }

    [Fact]
    public void TrainerCheckpointNamesItsOwnNetwork()
    {
        var path = TempFile("last.pth");
        using var source = ModelZoo.Create("bisenetv2", numClasses: 7, aux: true);
        var config = """{ "model": "bisenetv2", "encoder": null, "num_class": 7, "use_aux": true, "use_detail_head": false, "base_lr": 0.01 }""";
        save(new Dictionary<string, object?>
        {
            ["cur_epoch"] = 3L,
            ["best_score"] = 0.25,
            ["state_dict"] = source.state_dict(),
            ["optimizer"] = null,
            ["config"] = config,
        }, path);
        using var checkpoint = ModelCheckpoint.Read(path);
        Assert.Equal("state_dict", checkpoint.WeightsEntry);
        Assert.Equal("bisenetv2", checkpoint.ModelName);
        Assert.Equal((null as string, 7, true, false), (checkpoint.ModelOptions!.Encoder, checkpoint.ModelOptions.NumClasses, checkpoint.ModelOptions.Aux, checkpoint.ModelOptions.Detail));
        using var model = checkpoint.CreateModel();
        Assert.Equal("bisenetv2", model.Info!.Name);
        Assert.Equal(7, model.NumClasses);
        Assert.True(model.Options!.Aux);
        AssertSameWeights(source, model);
    }

    [Fact]
    public void AuxiliaryHeadWeightsWithoutAConfigAreRecognised()
    {
        var path = TempFile("aux.pth");
        using var source = ModelZoo.Create("bisenetv2", numClasses: 19, aux: true);
        source.SaveWeights(path);
        using var checkpoint = ModelCheckpoint.Read(path);
        using var model = checkpoint.CreateModel("bisenetv2", numClasses: 19);
        Assert.True(model.Options!.Aux);
        AssertSameWeights(source, model);
    }

    [Fact]
    public void AnotherNetworksCheckpointIsOneLineNamingTheKeys()
    {
        var path = TempFile("fastscnn.pth");
        using (var other = ModelZoo.Create("fastscnn")) other.SaveWeights(path);
        using var checkpoint = ModelCheckpoint.Read(path);
        var e = Assert.Throws<CheckpointMismatchException>(() => checkpoint.CreateModel("enet"));
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith($"{path}: the weights do not fit enet (19 classes): ", e.Message);
        Assert.Contains("no key in common", e.Message);
        Assert.Matches(@"\d+ of its \d+ keys missing \(", e.Message);
        Assert.Matches(@"\d+ unexpected \(", e.Message);
        Assert.Contains("more", e.Message); // long lists are cut
        Assert.NotEmpty(e.MissingKeys);
        Assert.NotEmpty(e.UnexpectedKeys);
        Assert.Null(e.CheckpointClasses);
    }

    [Fact]
    public void AnotherClassCountIsOneLineNamingTheCount()
    {
        var path = TempFile("enet5.pth");
        using (var other = ModelZoo.Create("enet", numClasses: 5)) other.SaveWeights(path);
        using var checkpoint = ModelCheckpoint.Read(path);
        var e = Assert.Throws<CheckpointMismatchException>(() => checkpoint.CreateModel("enet", numClasses: 19));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("with another shape (", e.Message);
        Assert.Contains(": file [5, ", e.Message);
        Assert.Contains(", model [19, ", e.Message);
        Assert.EndsWith("the checkpoint was trained for 5 classes", e.Message);
        Assert.Equal(5, e.CheckpointClasses);
        Assert.Empty(e.MissingKeys);
        Assert.Empty(e.UnexpectedKeys);
    }

    [Fact]
    public void NamingAnotherNetworkThanTheConfigSaysIsReported()
    {
        var path = TempFile("best.pth");
        using var source = ModelZoo.Create("fastscnn");
        save(new Dictionary<string, object?> { ["state_dict"] = source.state_dict(), ["config"] = """{"model": "fastscnn", "num_class": 19}""" }, path);
        using var checkpoint = ModelCheckpoint.Read(path);
        var e = Assert.Throws<CheckpointMismatchException>(() => checkpoint.CreateModel("enet"));
        Assert.EndsWith("its training config names the network 'fastscnn'", e.Message);
    }

    [Fact]
    public void FilesThatAreNotCheckpointsAreClearErrors()
    {
        var missing = TempFile("missing.pth");
        var e1 = Assert.Throws<FileNotFoundException>(() => ModelCheckpoint.Read(missing));
        Assert.Equal($"{missing}: checkpoint file not found", e1.Message);

        var garbage = TempFile("garbage.pth");
        File.WriteAllBytes(garbage, new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 });
        var e2 = Assert.Throws<CheckpointFormatException>(() => ModelCheckpoint.Read(garbage));
        Assert.StartsWith(garbage + ": ", e2.Message);

        var notWeights = TempFile("list.pth");
        save(new Dictionary<string, object?> { ["epoch"] = 3L, ["lr"] = 0.1 }, notWeights);
        var e3 = Assert.Throws<InvalidDataException>(() => ModelCheckpoint.Read(notWeights));
        Assert.Equal($"{notWeights}: key 'epoch' is an int, not a tensor; expected a state dict, or a checkpoint with the weights under 'state_dict' or 'model'", e3.Message);

        var bare = TempFile("bare.pth");
        using (var m = ModelZoo.Create("enet")) m.SaveWeights(bare);
        using var checkpoint = ModelCheckpoint.Read(bare);
        var e4 = Assert.Throws<ArgumentException>(() => checkpoint.CreateModel());
        Assert.Contains("give the model name", e4.Message);
        var e5 = Assert.Throws<ArgumentException>(() => checkpoint.CreateModel("nosuchnet"));
        Assert.Contains("unknown model 'nosuchnet'", e5.Message);
    }
}
