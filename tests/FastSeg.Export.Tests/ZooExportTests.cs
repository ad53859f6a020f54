using FastSeg.Models;
using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Export.Tests.OnnxTestSupport;
using static FastSeg.Torch.torch;

namespace FastSeg.Export.Tests;

/// <summary>
/// Zoo networks exported to ONNX and run in ONNX Runtime give FastSeg's eval logits within 1e-4 of the logits' scale,
/// at the recorded size and, exported with dynamic height and width, at a second size.
/// </summary>
public class ZooExportTests
{
    public static IEnumerable<object[]> Networks() => ModelZoo.Names.Select(n => new object[] { n });

    private static SegmentationModel Build(string name)
    {
        manual_seed(7);
        var model = ModelZoo.Create(name, numClasses: 5);
        model.eval();
        // BatchNorm statistics away from (0, 1), so folding them wrongly would show
        using (no_grad())
            foreach (var (key, buffer) in model.named_buffers())
            {
                if (key.EndsWith("running_mean", StringComparison.Ordinal)) buffer.copy_(rand_like(buffer) * 0.2 - 0.1);
                if (key.EndsWith("running_var", StringComparison.Ordinal)) buffer.copy_(rand_like(buffer) * 0.5 + 0.75);
            }
        return model;
    }

    private static long[] Size(SegmentationModel model, long baseHeight)
    {
        long m = Math.Max(model.InputMultiple, 1);
        long h = (baseHeight + m - 1) / m * m;
        return [1, 3, h, 2 * h];
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void ExportedLogitsEqualFastSegs(string name)
    {
        using var model = Build(name);
        var first = Size(model, 64);
        var bytes = OnnxExporter.ExportToBytes(model, new OnnxExportOptions { InputShape = first });
        AssertClose(Reference(model, first), Run(bytes, first), $"{name} at {first[2]}x{first[3]}");
    }
}
