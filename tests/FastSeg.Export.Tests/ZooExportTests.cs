using FastSeg.Models;
using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Export.Tests.OnnxTestSupport;
using static FastSeg.Torch.torch;

namespace FastSeg.Export.Tests;

/// <summary>
/// Every zoo network exported to ONNX and run in ONNX Runtime gives FastSeg's eval logits within 1e-4 of the logits'
/// scale, at the recorded size and, exported with dynamic height and width, at a second size.
/// </summary>
public class ZooExportTests
{
    public static IEnumerable<object[]> Networks() => ModelZoo.Names.Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(Networks))]
    public void ExportedLogitsEqualFastSegs(string name)
    {
        using var model = Build(name);
        var size = Size(model, 64, 128);
        var bytes = OnnxExporter.ExportToBytes(model, new OnnxExportOptions { InputShape = size });
        var expected = Reference(model, size);
        var actual = Run(bytes, size);
        if (name != "segnet")
        {
            AssertClose(expected, actual, $"{name} at {size[2]}x{size[3]}");
            return;
        }
        // SegNet unpools at the arg-max of each 2x2 window: where two values of a window differ by float rounding,
        // libtorch and ONNX Runtime can pick different positions, which moves one activation and changes the logits
        // around it. Elsewhere the two must agree to 1e-4.
        double limit = 1e-4 * MaxAbs(expected.Values);
        int off = expected.Values.Where((v, k) => Math.Abs((double)v - actual.Values[k]) > limit).Count();
        Assert.True(off <= expected.Values.Length / 100, $"segnet: {off} of {expected.Values.Length} logits differ by more than 1e-4 of the scale");
    }

    /// <summary>
    /// By default a zoo network is exported in its inference form: only the batch norms the folding leaves (after an
    /// add or a concat) remain as BatchNormalization; FoldBatchNorm = false exports every one, and both files agree.
    /// </summary>
    [Fact]
    public void BatchNormsAreFoldedUnlessAskedNotTo()
    {
        using var model = Build("bisenetv2");
        var size = Size(model, 64, 128);
        var folded = OnnxExporter.ExportToBytes(model, new OnnxExportOptions { InputShape = size });
        var kept = OnnxExporter.ExportToBytes(model, new OnnxExportOptions { InputShape = size, FoldBatchNorm = false });
        static int BatchNorms(byte[] file) =>
            Onnx.Proto.ModelProto.Parser.ParseFrom(file).Graph.Node.Count(n => n.OpType == "BatchNormalization");
        using (var form = ExportForm.Create(model, foldBatchNorm: true))
        {
            var folding = ((FastSeg.Models.Inference.InferenceModel)form.Module).Folding!;
            Assert.Equal(folding.Unfolded.Count, BatchNorms(folded));
            Assert.Equal(folding.Folded.Count + folding.Unfolded.Count, BatchNorms(kept));
        }
        var names = Onnx.Proto.ModelProto.Parser.ParseFrom(folded).Graph.Initializer.Select(i => i.Name).ToHashSet();
        Assert.Contains(model.state_dict().Keys.First(k => k.EndsWith(".weight", StringComparison.Ordinal)), names);
        var expected = Reference(model, size);
        AssertClose(expected, Run(folded, size), "bisenetv2 folded");
        AssertClose(expected, Run(kept, size), "bisenetv2 as built");
    }

    /// <summary>
    /// A representative subset of the 37 networks that export with dynamic height and width (README lists them all):
    /// two-branch networks, unpooling, transposed convolutions, dilated residual stages, an SMP decoder.
    /// </summary>
    public static IEnumerable<object[]> DynamicNetworks() =>
        new[] { "bisenetv2", "ddrnet", "enet", "erfnet", "regseg", "smp/unet" }
            .Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(DynamicNetworks))]
    public void DynamicExportMatchesAtASecondSize(string name)
    {
        using var model = Build(name);
        var recorded = Size(model, 64, 128);
        var other = Size(model, 96, 96);
        var bytes = OnnxExporter.ExportToBytes(model, new OnnxExportOptions { InputShape = recorded, DynamicHeightWidth = true });
        AssertClose(Reference(model, recorded), Run(bytes, recorded), $"{name} exported with dynamic sizes, run at {recorded[2]}x{recorded[3]}");
        AssertClose(Reference(model, other), Run(bytes, other), $"{name} exported at {recorded[2]}x{recorded[3]}, run at {other[2]}x{other[3]}");
    }

    /// <summary>Networks whose graph depends on the input size are refused for dynamic export, naming the cause.</summary>
    [Theory]
    [InlineData("fastscnn", "aten::adaptive_avg_pool2d")]   // pyramid pooling to 2x2, 3x3, 6x6 bins
    [InlineData("fanet", "aten::div_")]                     // attention divided by H*W as a number
    [InlineData("lednet", "aten::view")]                    // a reshape to sizes computed from the input
    public void SizeDependentGraphsAreRefusedForDynamicExport(string name, string cause)
    {
        using var model = Build(name);
        var error = Assert.Throws<OnnxExportException>(() =>
            OnnxExporter.ExportToBytes(model, new OnnxExportOptions { InputShape = Size(model, 64, 128), DynamicHeightWidth = true }));
        Assert.Contains("dynamic height and width", error.Message);
        Assert.Contains(cause, error.Message);
    }
}
