using FastSeg.Data;
using FastSeg.Models;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using FastSeg.Torch;
using FastSeg.Training.Evaluation;
using FastSeg.Training.Losses;
using FastSeg.Training.Metrics;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Tests;

/// <summary>
/// The pieces the trainer is built from, each on its own: the recipe (options → network, data, criterion), the
/// criterion (outputs → loss), the evaluator (model + data → report) and the checkpoint reader/writer.
/// </summary>
[Collection("trainer")]
public class RecipeTests(SyntheticCityscapesFixture data) : IClassFixture<SyntheticCityscapesFixture>
{
    private TrainerOptions Options(string model = "fastscnn") => TrainerOptions.Builder()
        .Model(model).Dataset(data.Root).Epochs(1).BatchSize(2, 2).Crop(64, 128).SaveDir(data.NewSaveDir())
        .LrPolicy(LrPolicy.CosWarmup, warmupEpochs: 0).Resume(false).Workers(0).Seed(11).Set("use_tb", "false").Build();

    private static double MaxDifference(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Fact]
    public void RecipeBuildsTheSeededZooNetworkTheDataAndTheCriterion()
    {
        using var scope = NewDisposeScope();
        var options = Options("ddrnet") with { UseAux = true, AuxCoef = [0.4] };
        using var recipe = TrainingRecipe.Create(options);
        manual_seed(11);
        using var expected = ModelZoo.Create("ddrnet", aux: true);
        Assert.True(recipe.OwnsModel);
        Assert.Equal(expected.state_dict().Keys, recipe.Model.state_dict().Keys);
        foreach (var (key, value) in expected.state_dict()) Assert.True(value.equal(recipe.Model.state_dict()[key]), key);
        Assert.Equal(8, recipe.TrainSet.Count);
        Assert.Equal(4, recipe.ValSet.Count);
        Assert.Equal(new[] { 0.4 }, recipe.Criterion.AuxiliaryLoss!.Coefficients);
        Assert.IsType<OhemCrossEntropyLoss>(recipe.Criterion.MainLoss);
        // The pipelines normalise as the network's registry entry says.
        var normalize = Assert.IsType<Compose>(recipe.ValSet.Transform).OfType<Normalize>().Single();
        Assert.Equal(recipe.Model.Info!.InputNormalization.Mean, normalize.Value.Mean);
        Assert.Equal(recipe.Model.Info!.InputNormalization.Std, normalize.Value.Std);
    }

    [Fact]
    public void RecipeNamesTheOptionAtFault()
    {
        var e = Assert.Throws<TrainerOptionException>(() => TrainingRecipe.Create(Options() with { KdTraining = true }));
        Assert.Equal("kd_training", e.Option);
        Assert.Contains("distillation hook", e.Message);
        using var other = ModelZoo.Create("fastscnn", numClasses: 5);
        var classes = Assert.Throws<TrainerOptionException>(() => TrainingRecipe.Create(Options(), other));
        Assert.Equal("num_class", classes.Option);
        Assert.Equal(5, other.NumClasses); // the caller's network is left to the caller
        var root = Assert.Throws<TrainerOptionException>(() => TrainingRecipe.Create(Options() with { DataRoot = null }));
        Assert.Equal("data_root", root.Option);
    }

    [Fact]
    public void ModelOptionsBuildTheVariantAndComeBackFromTheCheckpoint()
    {
        using var scope = NewDisposeScope();
        var options = Options("cgnet") with { ModelOptions = "M=2; N=4;act_type=relu" };
        using var recipe = TrainingRecipe.Create(options);
        using var expected = ModelZoo.Create("cgnet", new ModelOptions { Extra = new Dictionary<string, string> { ["M"] = "2", ["N"] = "4", ["act_type"] = "relu" } });
        long Count(SegmentationModel m) => m.parameters().Sum(p => p.numel());
        Assert.Equal(Count(expected), Count(recipe.Model));
        Assert.NotEqual(Count(expected), Count(ModelZoo.Create("cgnet")));
        // A trainer checkpoint records them in its config, and the checkpoint rebuilds the same variant.
        Directory.CreateDirectory(options.SaveDir);
        var path = Path.Combine(options.SaveDir, "weights.pth");
        ModelCheckpoint.Write(path, recipe.Model.state_dict(), new TrainingState { Epoch = 0, Config = options.ToJson() });
        using var read = ModelCheckpoint.Read(path);
        Assert.Equal("2", read.ModelOptions!.Extra["M"]);
        using var rebuilt = read.CreateModel();
        Assert.Equal(Count(expected), Count(rebuilt));
        // Bad text and bad values name the option.
        Assert.Equal("model_options", Assert.Throws<TrainerOptionException>(() => (options with { ModelOptions = "M2" }).Validate()).Option);
        Assert.Equal("model_options", Assert.Throws<TrainerOptionException>(() => TrainingRecipe.Create(options with { ModelOptions = "M=1" })).Option);
    }

    [Fact]
    public void OptionsThatUsedToBeIgnoredAreWired()
    {
        // v_flip: a vertical flip after the reference's pipeline (absent at 0, so the reference's pipeline is unchanged).
        var plain = TrainingRecipe.TrainTransform(Options());
        Assert.DoesNotContain(plain, t => t is VerticalFlip);
        var flipped = TrainingRecipe.TrainTransform(Options() with { VFlip = 0.3 });
        Assert.Equal(plain.Steps.Count + 1, flipped.Steps.Count);
        Assert.Equal(0.3, Assert.IsType<VerticalFlip>(flipped.Steps[^1]).Probability);
        Assert.Equal("v_flip", Assert.Throws<TrainerOptionException>(() => (Options() with { VFlip = 2 }).Validate()).Option);
        // tb_log_dir: where TensorBoard's event files go.
        var tb = Path.Combine(data.NewSaveDir(), "board");
        using (var trainer = new Trainer(Options() with { UseTensorBoard = true, TbLogDir = tb })) { }
        Assert.Single(Directory.GetFiles(tb, "events.out.tfevents.*"));
    }

    [Fact]
    public void CriterionAddsTheAuxiliaryHeadsWithTheirCoefficients()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var logits = randn(2, 19, 8, 16);
        var aux = new[] { randn(2, 19, 4, 8), randn(2, 19, 2, 4) };
        var masks = randint(0, 19, new long[] { 2, 8, 16 });
        using var output = new SegmentationOutput(logits, aux);
        var ce = new CrossEntropyLoss();
        using var criterion = new SegmentationCriterion(ce, new AuxiliaryLoss(ce, [0.4, 0.25]));
        var loss = criterion.Compute(zeros(2, 3, 8, 16), output, masks);
        // By hand: the main loss plus each head's loss against the mask resized (nearest) to the head.
        double expected = ce.Compute(logits, masks).item<float>();
        double[] coefficients = [0.4, 0.25];
        for (int i = 0; i < 2; i++)
        {
            var small = nn.functional.interpolate(masks.unsqueeze(1).to_type(ScalarType.Float32), new[] { aux[i].shape[2], aux[i].shape[3] },
                mode: nn.InterpolationMode.Nearest).squeeze(1).to_type(ScalarType.Int64);
            expected += coefficients[i] * ce.Compute(aux[i], small).item<float>();
        }
        Assert.Equal(expected, loss.Total.item<float>(), 4);
        Assert.Equal(loss.Total.item<float>(), loss.Parts["loss"], 5);
        Assert.False(loss.Parts.ContainsKey("loss_total"));
    }

    private sealed class ConstantTerm(float value) : ITrainingLossHook
    {
        public string Name => "const";
        public Tensor ExtraLoss(Tensor images, Tensor studentLogits) => tensor(value);
    }

    [Fact]
    public void CriterionAddsExtraTermsAndReportsEachPart()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var logits = randn(1, 5, 6, 6);
        var masks = randint(0, 5, new long[] { 1, 6, 6 });
        using var output = new SegmentationOutput(logits);
        var ce = new CrossEntropyLoss();
        using var criterion = new SegmentationCriterion(ce, terms: [new ConstantTerm(0.5f)]);
        var loss = criterion.Compute(zeros(1, 3, 6, 6), output, masks);
        double main = ce.Compute(logits, masks).item<float>();
        Assert.Equal(main, loss.Parts["loss"], 5);
        Assert.Equal(0.5, loss.Parts["loss_const"], 6);
        Assert.Equal(main + 0.5, loss.Parts["loss_total"], 5);
        Assert.Equal(main + 0.5, loss.Total.item<float>(), 5);
        // A detail loss with a network that returns no detail map is one clear error.
        using var detail = new SegmentationCriterion(ce, detail: new DetailLoss());
        var e = Assert.Throws<InvalidOperationException>(() => detail.Compute(zeros(1, 3, 6, 6), output, masks));
        Assert.Contains("detail", e.Message);
    }

    [Fact]
    public void EvaluatorEqualsAConfusionMatrixMadeByHandAndRestoresTheModelsMode()
    {
        using var scope = NewDisposeScope();
        var options = Options();
        using var recipe = TrainingRecipe.Create(options);
        var model = recipe.Model;
        model.train();
        using var evaluator = new SegmentationEvaluator(19);
        var report = evaluator.Evaluate(model, recipe.ValSet, batchSize: 2);
        Assert.True(model.training);

        using var matrix = new ConfusionMatrix(19);
        model.eval();
        using (no_grad())
            foreach (var batch in new DataLoader(recipe.ValSet, 1))
                using (batch)
                    matrix.Update(model.call(batch.Images), batch.Masks!);
        Assert.Equal(matrix.ToArray(), evaluator.Matrix.ToArray());
        Assert.Equal(matrix.MeanIoU(), report.MeanIoU, 12);
        Assert.Equal(ClassNames.Cityscapes, report.ClassNames);
    }

    [Fact]
    public void EvaluatorModesGoThroughThePredictor()
    {
        using var scope = NewDisposeScope();
        using var recipe = TrainingRecipe.Create(Options());
        var model = recipe.Model;
        using var plain = new SegmentationEvaluator(19);
        plain.Evaluate(model, recipe.ValSet);
        // A window as large as the 64x128 images is whole-image evaluation.
        using var window = new SegmentationEvaluator(19, options: new EvaluationOptions { Window = (64, 128) });
        window.Evaluate(model, recipe.ValSet);
        Assert.Equal(plain.Matrix.ToArray(), window.Matrix.ToArray());
        // The fp32 inference form (batch norm folded) predicts the same classes here.
        using var fp32 = new SegmentationEvaluator(19, options: new EvaluationOptions { Precision = InferencePrecision.Fp32 });
        fp32.Evaluate(model, recipe.ValSet);
        Assert.Equal(plain.Matrix.Total, fp32.Matrix.Total);
        Assert.True(Agreement(plain.Matrix, fp32.Matrix) > 0.999);
        // A window larger than the image is one clear error.
        using var tooLarge = new SegmentationEvaluator(19, options: new EvaluationOptions { Window = (128, 256) });
        var e = Assert.Throws<ArgumentException>(() => tooLarge.Evaluate(model, recipe.ValSet));
        Assert.Contains("larger than the image", e.Message);
        Assert.Equal("as built, windows 128x128", new EvaluationOptions { Window = (128, 128) }.ToString());
    }

    // The share of pixels on which two evaluations' confusion matrices agree cell by cell (a lower bound on argmax agreement).
    private static double Agreement(ConfusionMatrix a, ConfusionMatrix b)
    {
        long[,] x = a.ToArray(), y = b.ToArray();
        long same = 0;
        for (int i = 0; i < x.GetLength(0); i++)
            for (int j = 0; j < x.GetLength(1); j++) same += Math.Min(x[i, j], y[i, j]);
        return same / (double)a.Total;
    }

    [Fact]
    public void CheckpointWriterAndReaderKeepTheTrainingStateAndDropDataParallelPrefixes()
    {
        using var scope = NewDisposeScope();
        var dir = data.NewSaveDir();
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "last.pth");
        manual_seed(5);
        using var net = ModelZoo.Create("fastscnn", numClasses: 4);
        var saved = net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var weights = saved.ToDictionary(kv => "module." + kv.Key, kv => kv.Value);
        var ema = saved.ToDictionary(kv => "module." + kv.Key, kv => kv.Value.mul(2));
        var optimizer = optim.SGD(net.parameters(), 0.1, 0.9);
        net.call(randn(1, 3, 64, 64)).sum().backward();
        optimizer.step();
        ModelCheckpoint.Write(path, weights, new TrainingState
        {
            Epoch = 3, BestScore = 0.25, Iterations = 40, Optimizer = optimizer.state_dict(), Scheduler = new Dictionary<string, object?> { ["last_epoch"] = 40L },
            Ema = ema, RandomSeed = 9, Config = """{ "model": "fastscnn", "num_class": 4 }""",
        });
        using var read = ModelCheckpoint.Read(path);
        Assert.Equal(ModelCheckpoint.TrainerKeys, ((Dictionary<string, object?>)load(path)!).Keys);
        var state = read.Training!;
        Assert.Equal((3, 0.25, 40L, 9L), (state.Epoch!.Value, state.BestScore!.Value, state.Iterations!.Value, state.RandomSeed!.Value));
        Assert.Equal(net.state_dict().Keys, read.StateDict.Keys);
        Assert.Equal(net.state_dict().Keys, state.Ema!.Keys);
        foreach (var (key, value) in saved)
        {
            Assert.True(value.equal(read.StateDict[key]), key);
            Assert.Equal(0, MaxDifference(value.mul(2), state.Ema[key]));
        }
        Assert.Equal("fastscnn", read.ModelName);
        Assert.Equal(4, read.ModelOptions!.NumClasses);
        // The optimiser state loads back into a fresh optimiser (its momentum buffers survive the reader's scope).
        var again = optim.SGD(net.parameters(), 0.1, 0.9);
        again.load_state_dict(state.Optimizer!);
        Assert.Equal(optimizer.state_dict().Count, again.state_dict().Count);
        optimizer.Dispose();
        again.Dispose();
    }

    [Fact]
    public void TrainerResumesFromADataParallelCheckpoint()
    {
        var options = Options();
        string first;
        using (var trainer = new Trainer(options))
        {
            trainer.Run();
            first = Path.Combine(options.SaveDir, "last.pth");
        }
        // Re-save with every key under "module.", as PyTorch's DataParallel writes it.
        var dp = Path.Combine(options.SaveDir, "dp.pth");
        using (var scope = NewDisposeScope())
        using (var read = ModelCheckpoint.Read(first))
            ModelCheckpoint.Write(dp, read.StateDict.ToDictionary(kv => "module." + kv.Key, kv => kv.Value),
                read.Training! with { Ema = read.Training.Ema!.ToDictionary(kv => "module." + kv.Key, kv => kv.Value) });
        using var resumed = new Trainer(options with { TotalEpochs = 2, LoadCheckpoint = true, ResumeTraining = true, LoadCheckpointPath = dp });
        Assert.Equal(1, resumed.StartEpoch);
        using var scope2 = NewDisposeScope();
        using var original = ModelCheckpoint.Read(first);
        foreach (var (key, value) in original.StateDict) Assert.True(value.equal(resumed.Model.state_dict()[key]), key);
    }
}
