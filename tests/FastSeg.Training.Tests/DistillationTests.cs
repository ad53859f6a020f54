using FastSeg.Distillation;
using FastSeg.Torch;
using FastSeg.Torch.Tests;
using FastSeg.Training;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Tests;

public class DistillationTests(ITestOutputHelper output) : ParityTest(output)
{
    [Fact]
    public void KlAndMseMatchPyTorchWithResizedTeacher()
    {
        using var scope = NewDisposeScope();
        var c = Case("kd_f32");
        double T = c.GetProperty("temperature").GetDouble(), coef = c.GetProperty("coef").GetDouble();
        var student = c.Tensor("student").requires_grad_();
        var teacher = c.Tensor("teacher");

        var klMean = new DistillationLoss(temperature: T, coefficient: coef).Compute(student, teacher);
        Near(c.Tensor("kl_mean"), klMean, Tol32, "KD kl_div 'mean' (reference)");
        klMean.backward();
        Near(c.Tensor("grad_kl_mean"), student.grad!, Tol32, "KD kl_div gradient");

        Near(c.Tensor("kl_batchmean"), new DistillationLoss(temperature: T, coefficient: coef, reduction: KlReduction.BatchMean)
            .Compute(student, teacher), Tol32, "KD kl_div 'batchmean'");
        Near(c.Tensor("kl_pixelmean"), new DistillationLoss(temperature: T, coefficient: coef, reduction: KlReduction.PixelMean)
            .Compute(student, teacher), Tol32, "KD kl_div per-pixel mean");
        Near(c.Tensor("mse"), new DistillationLoss(DistillationLossType.Mse, coefficient: coef).Compute(student, teacher), Tol32, "KD mse");
        // the teacher resized by hand gives the same loss
        Near(c.Tensor("kl_mean"), new DistillationLoss(temperature: T, coefficient: coef).Compute(student, c.Tensor("teacher_resized")),
            Tol32, "KD kl_div, teacher resized beforehand");
    }

    [Fact]
    public void KlAndMseMatchPyTorchInFloat64()
    {
        using var scope = NewDisposeScope();
        var c = Case("kd_f64");
        var student = c.Tensor("student");
        var teacher = c.Tensor("teacher");
        Near(c.Tensor("kl_mean"), new DistillationLoss().Compute(student, teacher), Tol64, "KD f64 kl_div 'mean'");
        Near(c.Tensor("mse"), new DistillationLoss(DistillationLossType.Mse).Compute(student, teacher), Tol64, "KD f64 mse");
        Assert.Throws<ArgumentException>(() => new DistillationLoss().Compute(student, randn(new long[] { 2, 4, 8, 8 }, ScalarType.Float64)));
    }

    [Fact]
    public void HookGradientReachesTheStudentAndNotTheTeacher()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var studentNet = nn.Sequential(nn.Conv2d(3, 4, 3, padding: 1), nn.ReLU(), nn.Conv2d(4, 5, 1));
        var teacherNet = nn.Sequential(nn.Conv2d(3, 8, 3, padding: 1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 5, 1));
        using var teacher = new TeacherModel(teacherNet, ownsModule: true);
        ITrainingLossHook hook = new DistillationHook(teacher, new DistillationLoss(coefficient: 2.0));
        Assert.Equal("kd", hook.Name);

        var images = randn(2, 3, 8, 8);
        var logits = studentNet.call(images);
        teacherNet.train(); // something switched it back: Predict must still run it in eval mode
        var runningMean = teacherNet.state_dict()["1.running_mean"].clone();
        var loss = hook.ExtraLoss(images, logits);
        loss.backward();

        Assert.False(teacherNet.training);
        TensorAssert.Equal(runningMean, teacherNet.state_dict()["1.running_mean"], "teacher BN statistics");
        foreach (var p in teacherNet.parameters())
        {
            Assert.False(p.requires_grad);
            Assert.Null(p.grad);
        }
        foreach (var p in studentNet.parameters())
        {
            Assert.NotNull(p.grad);
            Assert.True(p.grad!.abs().sum().item<float>() > 0);
        }
    }

    [Fact]
    public void TeacherUnderBFloat16AutocastReturnsFloat32()
    {
        using var scope = NewDisposeScope();
        using var teacher = new TeacherModel(nn.Sequential(nn.Conv2d(3, 5, 3, padding: 1)), autocastBFloat16: true, ownsModule: true);
        var images = randn(1, 3, 6, 6);
        var logits = teacher.Predict(images);
        Assert.Equal(ScalarType.Float32, logits.dtype);
        Assert.False(logits.requires_grad);
        using var plain = new TeacherModel(teacher.Module);
        var exact = plain.Predict(images);
        // bfloat16 has 8 significant bits
        Assert.True(logits.sub(exact).abs().max().item<float>() < 0.1f);
        Assert.False(is_autocast_enabled(DeviceType.CPU));
    }
}
