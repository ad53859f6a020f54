using FastSeg.Export.Onnx.Proto;
using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Cli.Tests;

public class ExportCommandTests
{
    private static (int code, string stdout, string stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CommandLine.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void ExportsTheCheckpointsWeightsWithDynamicSizes()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"fastseg-export-cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            var checkpoint = Path.Combine(folder, "best.pth");
            manual_seed(3);
            float[] expected;
            string key;
            using (var model = ModelZoo.Create("linknet", numClasses: 4))
            {
                model.SaveWeights(checkpoint);
                key = model.state_dict().Keys.Last(k => k.EndsWith(".weight", StringComparison.Ordinal));
                expected = model.state_dict()[key].ToArray<float>();
            }
            var output = Path.Combine(folder, "net.onnx");
            var (code, stdout, stderr) = Run("export", "--model", "linknet", "--checkpoint", checkpoint, "--classes", "4",
                                             "--format", "onnx", "--size", "128x64", "--dynamic", "--keep-batchnorm", "--output", output);
            Assert.True(code == 0, stderr);
            Assert.Contains("linknet at 128x64 (any height and width)", stdout);
            var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(output));
            Assert.Equal(17, proto.OpsetImport.Single().Version);
            // --keep-batchnorm: the network as built, every weight as the checkpoint has it
            Assert.Contains(proto.Graph.Node, n => n.OpType == "BatchNormalization");
            var weight = proto.Graph.Initializer.Single(i => i.Name == key);
            Assert.Equal(expected, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(weight.RawData.Span).ToArray());
            Assert.Equal("width", proto.Graph.Input[0].Type.TensorType.Shape.Dim[3].DimParam);
            Assert.Equal(4, proto.Graph.Output[0].Type.TensorType.Shape.Dim[1].DimValue);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void ExportsTorchScriptThatLibtorchRunsLikeTheCheckpoint()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"fastseg-export-ts-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            var checkpoint = Path.Combine(folder, "best.pth");
            var output = Path.Combine(folder, "net.pt");
            manual_seed(5);
            using var model = ModelZoo.Create("linknet", numClasses: 4);
            model.SaveWeights(checkpoint);
            model.eval();
            var (code, stdout, stderr) = Run("export", "--model", "linknet", "--checkpoint", checkpoint, "--classes", "4",
                                             "--format", "torchscript", "--size", "128x64", "--output", output);
            Assert.True(code == 0, stderr);
            Assert.Contains("linknet at 128x64, TorchScript", stdout);

            using var scope = NewDisposeScope();
            using var grad = no_grad();
            var input = linspace(-2, 2, 3 * 64 * 128).reshape(1, 3, 64, 128).sin();
            var expected = model.call(input);
            using var loaded = jit.load(output);
            var actual = loaded.call(input);
            Assert.Equal(expected.shape, actual.shape);
            double scale = expected.abs().max().item<float>();
            double worst = (actual - expected).abs().max().item<float>();
            Assert.True(worst <= 1e-4 * scale, $"max |TorchScript - FastSeg| = {worst:G4}, scale {scale:G4}");

            (code, _, stderr) = Run("export", "--model", "linknet", "--format", "torchscript", "--dynamic", "--output", output);
            Assert.Equal(2, code);
            Assert.Contains("--dynamic is for ONNX", stderr);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void MissingFolderAndUnsupportedDynamicNetworkFailWithOneLine()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"fastseg-missing-{Guid.NewGuid():N}");
        var (code, _, stderr) = Run("export", "--model", "linknet", "--size", "128x64", "--output", Path.Combine(missing, "net.onnx"));
        Assert.Equal(1, code);
        Assert.Contains(missing, stderr);
        var output = Path.Combine(Path.GetTempPath(), $"fastseg-export-{Guid.NewGuid():N}.onnx");
        (code, _, stderr) = Run("export", "--model", "fastscnn", "--size", "128x64", "--dynamic", "--output", output);
        Assert.Equal(1, code);
        Assert.Contains("aten::adaptive_avg_pool2d", stderr);
        Assert.False(File.Exists(output));
        (code, _, stderr) = Run("export", "--output", output);
        Assert.Equal(2, code);
        Assert.Contains("--model", stderr);
    }
}
