using FastSeg.Torch.Tracing;
using Xunit;
using static FastSeg.Export.Tests.OnnxTestSupport;
using static FastSeg.Torch.torch;

namespace FastSeg.Export.Tests;

/// <summary>The recorder, and the export's refusals: unmapped operators, missing folders, training mode.</summary>
public class ExportBehaviourTests
{
    /// <summary>conv → batch norm → relu, with a child module so the recorder's module paths can be checked.</summary>
    private sealed class ConvBnRelu : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> conv;
        private readonly nn.Module<Tensor, Tensor> bn;

        public ConvBnRelu() : base(nameof(ConvBnRelu))
        {
            conv = nn.Conv2d(3, 4, 3, padding: 1);
            bn = nn.BatchNorm2d(4);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => nn.functional.relu(bn.call(conv.call(input)));
    }

    /// <summary>A module whose forward calls an operator the mapping table lacks (cumsum).</summary>
    private sealed class CumulativeSum : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> stem;

        public CumulativeSum() : base(nameof(CumulativeSum))
        {
            stem = new Scan();
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => stem.call(input) + 1;

        private sealed class Scan : nn.Module<Tensor, Tensor>
        {
            public Scan() : base(nameof(Scan)) { }

            public override Tensor forward(Tensor input) => input.cumsum(3);
        }
    }

    [Fact]
    public void RecorderSeesEachCallWithItsModuleAndParameters()
    {
        using var model = new ConvBnRelu();
        model.eval();
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        var x = InputTensor([1, 3, 8, 8]);
        List<RecordedOp> ops;
        Tensor output;
        using (var recorder = OpRecorder.Start(model))
        {
            output = model.call(x);
            recorder.Stop();
            ops = recorder.Operations.ToList();
            Assert.Equal(["aten::conv2d", "aten::batch_norm", "aten::relu"], ops.Select(o => o.Name));
            Assert.Equal(["conv", "bn", ""], ops.Select(o => o.ModulePath));
            var sd = model.state_dict();
            Assert.Equal(OpRecorder.Identity(x), OpRecorder.Identity(ops[0].Arguments[0].Tensor!));
            Assert.Equal(OpRecorder.Identity(sd["conv.weight"]), OpRecorder.Identity(ops[0].Arguments[1].Tensor!));
            Assert.Equal(OpRecorder.Identity(sd["bn.running_var"]), OpRecorder.Identity(ops[1].Arguments[4].Tensor!));
            Assert.Equal(RecordedArgumentKind.Bool, ops[1].Arguments[5].Kind);
            Assert.Equal(0, ops[1].Arguments[5].Int); // training = false
            Assert.Equal(OpRecorder.Identity(ops[0].Results[0].Tensor!), OpRecorder.Identity(ops[1].Arguments[0].Tensor!));
            Assert.Equal(OpRecorder.Identity(output), OpRecorder.Identity(ops[2].Results[0].Tensor!));
        }
        // Stopped: later calls are not recorded, and a new recorder may start.
        using var next = OpRecorder.Start();
        _ = x + 1;
        Assert.Equal("aten::add", Assert.Single(next.Operations).Name);
    }

    [Fact]
    public void RecordersDoNotNest()
    {
        using var recorder = OpRecorder.Start();
        var error = Assert.Throws<InvalidOperationException>(() => OpRecorder.Start());
        Assert.Contains("already recording", error.Message);
    }

    [Fact]
    public void SmallModuleExportsWithNamedInitializersAndMatches()
    {
        using var model = new ConvBnRelu();
        model.eval();
        var path = Path.Combine(Path.GetTempPath(), $"fastseg-export-{Guid.NewGuid():N}.onnx");
        try
        {
            var summary = OnnxExporter.Export(model, path, new OnnxExportOptions { InputShape = [1, 3, 8, 8], DynamicHeightWidth = true });
            Assert.Equal(new Dictionary<string, int> { ["Conv"] = 1, ["BatchNormalization"] = 1, ["Relu"] = 1 }, summary.OperatorCounts);
            Assert.Equal(6, summary.Initializers); // conv weight and bias, bn weight, bias, mean, var
            var bytes = File.ReadAllBytes(path);
            var model2 = Onnx.Proto.ModelProto.Parser.ParseFrom(bytes);
            Assert.Equal(new[] { "bn.bias", "bn.running_mean", "bn.running_var", "bn.weight", "conv.bias", "conv.weight" },
                model2.Graph.Initializer.Select(i => i.Name).Order(StringComparer.Ordinal));
            Assert.Equal("height", model2.Graph.Input[0].Type.TensorType.Shape.Dim[2].DimParam);
            AssertClose(Reference(model, [1, 3, 8, 8]), Run(bytes, [1, 3, 8, 8]), "conv-bn-relu 8x8");
            AssertClose(Reference(model, [1, 3, 5, 11]), Run(bytes, [1, 3, 5, 11]), "conv-bn-relu 5x11 (dynamic)");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void UnmappedOperatorNamesTheOperatorAndModuleAndWritesNothing()
    {
        using var model = new CumulativeSum();
        model.eval();
        var path = Path.Combine(Path.GetTempPath(), $"fastseg-export-{Guid.NewGuid():N}.onnx");
        var error = Assert.Throws<OnnxExportException>(() =>
            OnnxExporter.Export(model, path, new OnnxExportOptions { InputShape = [1, 3, 4, 4] }));
        Assert.Equal("aten::cumsum", error.Operator);
        Assert.Equal("stem", error.ModulePath);
        Assert.Contains("'aten::cumsum'", error.Message);
        Assert.Contains("'stem'", error.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void MissingOutputFolderIsRefusedNamingIt()
    {
        using var model = new ConvBnRelu();
        model.eval();
        var folder = Path.Combine(Path.GetTempPath(), $"fastseg-missing-{Guid.NewGuid():N}");
        var error = Assert.Throws<DirectoryNotFoundException>(() =>
            OnnxExporter.Export(model, Path.Combine(folder, "net.onnx"), new OnnxExportOptions { InputShape = [1, 3, 8, 8] }));
        Assert.Contains(folder, error.Message);
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public void TrainingModeIsRefusedWithAClearMessage()
    {
        using var model = new ConvBnRelu(); // modules start in training mode
        var path = Path.Combine(Path.GetTempPath(), $"fastseg-export-{Guid.NewGuid():N}.onnx");
        var error = Assert.Throws<InvalidOperationException>(() =>
            OnnxExporter.Export(model, path, new OnnxExportOptions { InputShape = [1, 3, 8, 8] }));
        Assert.Contains("training mode", error.Message);
        Assert.Contains("eval()", error.Message);
        Assert.False(File.Exists(path));
        Assert.True(model.training); // the model is left as it was
    }

    [Fact]
    public void Opset15FilesDeclareIt()
    {
        using var model = new ConvBnRelu();
        model.eval();
        var bytes = OnnxExporter.ExportToBytes(model, new OnnxExportOptions { InputShape = [1, 3, 6, 10], Opset = 15 });
        Assert.Equal(15, Onnx.Proto.ModelProto.Parser.ParseFrom(bytes).OpsetImport.Single().Version);
        AssertClose(Reference(model, [1, 3, 6, 10]), Run(bytes, [1, 3, 6, 10]), "conv-bn-relu at opset 15");
    }

    [Fact]
    public void UnsupportedOpsetIsRefused()
    {
        using var model = new ConvBnRelu();
        model.eval();
        var error = Assert.Throws<ArgumentException>(() => OnnxExporter.ExportToBytes(model, new OnnxExportOptions { InputShape = [1, 3, 8, 8], Opset = 9 }));
        Assert.Contains("Opset 9", error.Message);
    }
}
