// Knowledge distillation on generated road scenes, zh320's way: the teacher is a segmentation_models.pytorch
// DeepLabV3+ (teacher_model = smp, teacher_decoder = deeplabv3p; ResNet-18 encoder by default, ResNet-101 as in zh320
// with --teacher-encoder resnet101 when time allows). Writes a small synthetic Cityscapes tree, trains the teacher on
// it (or loads one with --teacher), then trains a small real-time student with the Trainer and a DistillationHook: the
// student's loss is OHEM cross-entropy on the labels plus T²·KL(teacher ‖ student) at T = 4 (or the mean squared error
// between the logits with --kd mse). The same student is also trained without the teacher (same recipe and seed), and
// the teacher, the distilled student and the student alone are printed side by side. Several minutes on 2 idle cores
// with the defaults (the teacher's training dominates; --teacher PATH skips it on later runs).
//
//   dotnet run --project samples/Distillation -c Release [-- options]
//
// Options (defaults in brackets):
//   --out DIR                where data, logs and teacher.pth go [$TMP/fastseg-distillation-demo]
//   --teacher-model NAME     teacher network: a zoo name, or smp with --teacher-decoder [smp]
//   --teacher-decoder NAME   SMP decoder [deeplabv3p]        --teacher-encoder NAME  teacher encoder [smp: resnet18]
//   --student-model NAME     student network [fastscnn]
//   --teacher PATH           load the teacher's weights (.pth state dict or trainer checkpoint) instead of training it
//   --teacher-epochs N [60]  --student-epochs N [20]          --images N   synthetic training scenes [16]
//   --kd kl|mse [kl]         --temperature T [4]              --kd-coef C  distillation loss coefficient [1]
//   --no-baseline            skip training the student without distillation
using System.Diagnostics;
using System.Globalization;
using FastSeg.Data;
using FastSeg.Distillation;
using FastSeg.Models;
using FastSeg.Models.Zoo;
using FastSeg.Training;
using FastSeg.Training.Metrics;
using static FastSeg.Torch.torch;

var settings = DemoSettings.Parse(args);
var root = Path.Combine(settings.Output, "cityscapes");
if (!Directory.Exists(Path.Combine(root, "leftImg8bit")))
{
    SyntheticCityscapes.Generate(root, new SyntheticCityscapesOptions { Width = 256, Height = 128, TrainCount = settings.Images, ValCount = 4, Seed = 1 });
    Console.WriteLine($"wrote a synthetic Cityscapes tree to {root}");
}
// The validation images at full size, for the before/after comparison (the trainer validates on the same split).
var valSet = new CityscapesDataset(root, "val") { Transform = Pipelines.Zh320Val() };
var valLoader = new DataLoader(valSet, batchSize: 4, numWorkers: 0);
var clock = Stopwatch.StartNew();

// ---- 1. the teacher --------------------------------------------------------------------------------------------------
manual_seed(1);
// The zh320 naming (smp + decoder) resolves to the zoo's smp/<decoder>; TeacherFactory does the same from trainer options.
var teacherEncoder = settings.TeacherEncoder ?? (settings.TeacherModel == "smp" ? "resnet18" : null);
using var teacherNet = ModelZoo.Create(ModelZoo.ResolveName(settings.TeacherModel, settings.TeacherDecoder), teacherEncoder, numClasses: 19);
if (settings.TeacherPath is not null)
{
    teacherNet.LoadWeights(settings.TeacherPath);
    Console.WriteLine($"teacher {teacherNet.Info!.Name}: loaded {settings.TeacherPath}");
}
else
{
    Console.WriteLine($"teacher {teacherNet.Info!.Name} ({teacherNet.Options!.Encoder}, {Parameters(teacherNet):N0} parameters): training {settings.TeacherEpochs} epochs");
    var result = Train(settings, root, "teacher", teacherNet, settings.TeacherEpochs, hook: null);
    var saved = Path.Combine(settings.Output, "teacher.pth");
    teacherNet.SaveWeights(saved);
    Console.WriteLine($"teacher: {result.Iterations} iterations in {result.Elapsed.TotalSeconds:F0} s; weights in {saved} (reuse with --teacher {saved})");
}
// Frozen: no gradients, eval mode; Predict runs it without recording a graph.
using var teacher = new TeacherModel(teacherNet);
var teacherEval = Evaluate(teacherNet, teacher, valLoader);
Console.WriteLine($"teacher on the validation images: mIoU {Pct(teacherEval.Report.MeanIoU)} " +
                  $"(present classes {Pct(teacherEval.Report.MeanIoUPresent)}), pixel accuracy {Pct(teacherEval.Report.PixelAccuracy)}");

// ---- 2. the student, distilled -----------------------------------------------------------------------------------
var kdLoss = new DistillationLoss(settings.KdType, settings.Temperature, settings.KdCoefficient);
var hook = new DistillationHook(teacher, kdLoss);
manual_seed(2);
using var student = ModelZoo.Create(settings.StudentModel, numClasses: 19);
var before = Evaluate(student, teacher, valLoader);
Console.WriteLine();
Console.WriteLine($"student {settings.StudentModel} ({Parameters(student):N0} parameters, teacher {Parameters(teacherNet):N0}): " +
                  $"distilling {settings.StudentEpochs} epochs with {(settings.KdType == DistillationLossType.KlDiv ? $"KL, T = {settings.Temperature:G}" : "MSE")}, " +
                  $"coefficient {settings.KdCoefficient:G}");
var distilled = Train(settings, root, "student-kd", student, settings.StudentEpochs, hook);
var after = Evaluate(student, teacher, valLoader);

// ---- 3. optionally the same student without the teacher ---------------------------------------------------------------
Evaluation? baseline = null;
if (settings.Baseline)
{
    manual_seed(2);
    using var plain = ModelZoo.Create(settings.StudentModel, numClasses: 19);
    Console.WriteLine();
    Console.WriteLine($"baseline: the same student without distillation, {settings.StudentEpochs} epochs");
    Train(settings, root, "student-plain", plain, settings.StudentEpochs, hook: null);
    baseline = Evaluate(plain, teacher, valLoader);
}

Console.WriteLine();
Console.WriteLine(after.Report.ToString());
Console.WriteLine();
Console.WriteLine($"{"network",-32} {"mIoU",8} {"mIoU (present)",15} {"pixel acc.",11} {"agrees with teacher",20}");
Row($"teacher {teacherNet.Info!.Name}", teacherEval);
Row($"student {settings.StudentModel}, untrained", before);
Row($"student {settings.StudentModel} with KD", after);
if (baseline is not null) Row($"student {settings.StudentModel} alone", baseline);
Console.WriteLine($"distillation: {distilled.Iterations} iterations in {distilled.Elapsed.TotalSeconds:F1} s " +
                  $"({distilled.ImagesPerSecond:F1} training images/s, teacher forward included); whole run {clock.Elapsed.TotalSeconds:F0} s");

static void Row(string name, Evaluation e) =>
    Console.WriteLine($"{name,-32} {Pct(e.Report.MeanIoU),8} {Pct(e.Report.MeanIoUPresent),15} {Pct(e.Report.PixelAccuracy),11} {Pct(e.Agreement),20}");

static string Pct(double? v) => v is double d ? (100 * d).ToString("F2", CultureInfo.InvariantCulture) + "%" : "n/a";

static long Parameters(SegmentationModel model) => model.parameters().Sum(p => p.numel());

// One training run with the TrainSynthetic recipe (Adam, one-cycle schedule, OHEM, random scale and flip), without
// checkpoints (config.json and metrics.jsonl go to OUT/name); the model keeps the weights of the last step.
static TrainingResult Train(DemoSettings s, string root, string name, SegmentationModel model, int epochs, ITrainingLossHook? hook)
{
    var saveDir = Path.Combine(s.Output, name);
    if (Directory.Exists(saveDir)) Directory.Delete(saveDir, recursive: true);
    var builder = TrainerOptions.Builder()
        .Model(model.Info!.Name)
        .Dataset(root)
        .Epochs(epochs)
        .BatchSize(4, 4)
        .Optimizer(OptimizerKind.Adam, 0.1)          // Adam's lr is 0.1 · base_lr in the reference: 0.01
        .LrPolicy(LrPolicy.CosWarmup, warmupEpochs: 1)
        .Ohem(0.7)
        .Crop(128, 256)
        .Augment(randScaleLow: -0.25, randScaleHigh: 0.5, hFlip: 0.5)
        .Validation(beginEpoch: epochs)              // no validation during training: Evaluate does it, with the agreement
        .SaveDir(saveDir)
        .Workers(1)
        .Seed(1)
        .Set("log_interval", "0")
        .Set("use_tb", "false")
        .Set("save_ckpt", "false");                  // the teacher's weights are saved once, below; nothing else is reused
    if (hook is DistillationHook kd)
    {
        // Recorded in config.json; the hook itself carries the loss that is used.
        builder.Set("kd_training", "true")
            .Set("kd_loss_type", kd.Loss.Type == DistillationLossType.KlDiv ? "kl_div" : "mse")
            .Set("kd_temperature", kd.Loss.Temperature.ToString(CultureInfo.InvariantCulture))
            .Set("kd_loss_coefficient", kd.Loss.Coefficient.ToString(CultureInfo.InvariantCulture));
    }
    using var trainer = new Trainer(builder.Build(), model: model, hooks: hook is null ? null : [hook], progress: new Progress(name));
    return trainer.Run();
}

// The student's confusion matrix against the labels, and the fraction of pixels where its argmax equals the teacher's.
static Evaluation Evaluate(SegmentationModel model, TeacherModel teacher, DataLoader loader)
{
    using var matrix = new ConfusionMatrix(model.NumClasses);
    long agree = 0, total = 0;
    bool wasTraining = model.training;
    model.eval();
    using (no_grad())
    {
        foreach (var batch in loader)
        {
            using (batch)
            using (NewDisposeScope())
            {
                var logits = model.call(batch.Images);
                matrix.Update(logits, batch.Masks!);
                var studentClass = logits.argmax(1);
                var teacherClass = teacher.Predict(batch.Images).argmax(1);
                agree += studentClass.eq(teacherClass).sum().item<long>();
                total += studentClass.numel();
            }
        }
    }
    if (wasTraining) model.train();
    return new Evaluation(matrix.Report(ClassNames.Cityscapes), (double)agree / total);
}

internal sealed record Evaluation(SegmentationReport Report, double Agreement);

internal sealed record DemoSettings(string Output, string TeacherModel, string? TeacherDecoder, string? TeacherEncoder, string StudentModel,
    string? TeacherPath, int TeacherEpochs, int StudentEpochs, int Images, DistillationLossType KdType, double Temperature,
    double KdCoefficient, bool Baseline)
{
    public static DemoSettings Parse(string[] args)
    {
        var s = new DemoSettings(Path.Combine(Path.GetTempPath(), "fastseg-distillation-demo"), "smp", "deeplabv3p", null, "fastscnn",
            null, 60, 20, 16, DistillationLossType.KlDiv, 4.0, 1.0, true);
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() { var v = Value(); return int.TryParse(v, out var n) && n > 0 ? n : throw new ArgumentException($"{args[i - 1]}: '{v}' is not a positive integer"); }
            double Number() { var v = Value(); return double.TryParse(v, CultureInfo.InvariantCulture, out var d) && d > 0 ? d : throw new ArgumentException($"{args[i - 1]}: '{v}' is not a positive number"); }
            s = args[i] switch
            {
                "--out" => s with { Output = Value() },
                "--teacher-model" => s with { TeacherModel = Value() },
                "--teacher-decoder" => s with { TeacherDecoder = Value() },
                "--teacher-encoder" => s with { TeacherEncoder = Value() },
                "--student-model" => s with { StudentModel = Value() },
                "--teacher" => s with { TeacherPath = Value() },
                "--teacher-epochs" => s with { TeacherEpochs = Int() },
                "--student-epochs" => s with { StudentEpochs = Int() },
                "--images" => s with { Images = Int() },
                "--kd" => s with
                {
                    KdType = Value() switch
                    {
                        "kl" or "kl_div" => DistillationLossType.KlDiv,
                        "mse" => DistillationLossType.Mse,
                        var other => throw new ArgumentException($"--kd: '{other}' is not kl or mse"),
                    },
                },
                "--temperature" => s with { Temperature = Number() },
                "--kd-coef" => s with { KdCoefficient = Number() },
                "--baseline" => s with { Baseline = true },
                "--no-baseline" => s with { Baseline = false },
                _ => throw new ArgumentException($"unknown option '{args[i]}' (see the comment at the top of samples/Distillation/Program.cs)"),
            };
        }
        return s;
    }
}

// Prints one line every 10 iterations.
internal sealed class Progress(string name) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress p)
    {
        if (p.Kind == ProgressKind.Iteration && (p.Iteration % 10 == 0 || p.Iteration == 1))
        {
            string kd = p.LossParts.TryGetValue("loss_kd", out var v) ? $" (kd {v:F4})" : "";
            Console.WriteLine($"  {name}: iter {p.Iteration,4}/{p.TotalIterations}  loss {p.Loss:F4}{kd}  {p.ImagesPerSecond:F1} img/s");
        }
    }
}
