using FastSeg.Distillation;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Tests;

/// <summary>The teacher is built from the trainer's teacher options by FastSeg.Distillation, and its checkpoint must fit it.</summary>
public sealed class TeacherFactoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastseg-teacher-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Save(string name, int classes)
    {
        var path = Path.Combine(_dir, $"{name}-{classes}.pth");
        using var net = ModelZoo.Create(name, numClasses: classes);
        net.SaveWeights(path);
        return path;
    }

    private static TrainerOptions Options(string model, string checkpoint, int classes = 19) =>
        new() { KdTraining = true, TeacherModel = model, TeacherCheckpoint = checkpoint, NumClasses = classes };

    [Fact]
    public void TheTeacherIsBuiltFromItsOptionsLoadedAndFrozen()
    {
        var path = Save("enet", 19);
        using var teacher = TeacherFactory.Create(Options("enet", path));
        Assert.False(teacher.Module.training);
        Assert.All(teacher.Module.parameters(), p => Assert.False(p.requires_grad));
        using var expected = ModelCheckpoint.Read(path);
        var actual = teacher.Module.state_dict();
        Assert.All(expected.StateDict, kv => Assert.True(kv.Value.equal(actual[kv.Key]), kv.Key));
    }

    [Fact]
    public void ACheckpointOfAnotherClassCountIsOneLineNamingTheFile()
    {
        var path = Save("enet", 5);
        var e = Assert.Throws<CheckpointMismatchException>(() => TeacherFactory.Create(Options("enet", path)));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("5 classes", e.Message);
    }

    [Fact]
    public void ACheckpointOfAnotherArchitectureIsOneLineNamingTheFile()
    {
        var path = Save("erfnet", 19);
        var e = Assert.Throws<CheckpointMismatchException>(() => TeacherFactory.Create(Options("enet", path)));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("missing", e.Message);
    }

    /// <summary>zh320's naming: model = smp with encoder and decoder, for the student and for the teacher.</summary>
    [Fact]
    public void SmpNetworksAreNamedTheZh320Way()
    {
        using (var student = new TrainerOptions { Model = "smp", Encoder = "resnet18", Decoder = "deeplabv3p", NumClasses = 7 }.CreateModel())
        {
            Assert.Equal("smp/deeplabv3p", student.Info!.Name);
            Assert.Equal("resnet18", student.Options!.Encoder);
            Assert.Equal(7, student.NumClasses);
        }
        var options = new TrainerOptions { TeacherModel = "smp", TeacherEncoder = "resnet18", TeacherDecoder = "fpn", NumClasses = 5 };
        using (var teacher = TeacherFactory.CreateNetwork(options))
            Assert.Equal(("smp/fpn", "resnet18", 5), (teacher.Info!.Name, teacher.Options!.Encoder, teacher.NumClasses));
        var badDecoder = Assert.Throws<TrainerOptionException>(() => new TrainerOptions { Model = "smp", Decoder = "segformer" }.CreateModel());
        Assert.Equal("decoder", badDecoder.Option);
        Assert.Contains("deeplabv3p", badDecoder.Message);
        var badEncoder = Assert.Throws<TrainerOptionException>(() => TeacherFactory.CreateNetwork(options with { TeacherEncoder = "vgg16" }));
        Assert.Equal("teacher_encoder", badEncoder.Option);
        Assert.Contains("resnet101", badEncoder.Message);
    }

    [Fact]
    public void UnknownTeachersAndMissingCheckpointsNameTheOption()
    {
        var path = Save("enet", 19);
        Assert.Equal("teacher_model", Assert.Throws<TrainerOptionException>(() => TeacherFactory.Create(Options("no-such-net", path))).Option);
        Assert.Equal("teacher_decoder", Assert.Throws<TrainerOptionException>(() => TeacherFactory.Create(Options("smp", path))).Option);
        Assert.Equal("teacher_ckpt", Assert.Throws<TrainerOptionException>(() => TeacherFactory.Create(Options("enet", ""))).Option);
        var missing = Path.Combine(_dir, "nope.pth");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => TeacherFactory.Create(Options("enet", missing))).Message);
    }
}
