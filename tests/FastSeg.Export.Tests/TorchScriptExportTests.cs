using System.Runtime.InteropServices;
using FastSeg.Models.Inference;
using FastSeg.Torch.Tests;
using Xunit;
using static FastSeg.Export.Tests.OnnxTestSupport;
using static FastSeg.Torch.torch;

namespace FastSeg.Export.Tests;

/// <summary>
/// TorchScript files traced by libtorch's tracer load in Debian's python3-torch (<c>torch.jit.load</c>) and back into
/// FastSeg's libtorch, and give FastSeg's eval logits within 1e-4 of the logits' scale.
/// </summary>
public class TorchScriptExportTests
{
    // Loads the file, runs it on the raw float32 input, writes the logits (raw float32), the parameter ("P key") and
    // buffer ("B key") names, one a line, and the forward's TorchScript code; prints the logits' shape.
    private const string LoadScript = """
        import sys, torch
        path, input_path, shape, output_path, keys_path, code_path = sys.argv[1:7]
        shape = [int(d) for d in shape.split(",")]
        module = torch.jit.load(path)
        module.eval()
        with open(input_path, "rb") as f:
            x = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(shape)
        with torch.no_grad():
            y = module(x)
        with open(output_path, "wb") as f:
            f.write(y.contiguous().numpy().tobytes())
        with open(keys_path, "w") as f:
            f.write("\n".join([f"P {k}" for k, _ in module.named_parameters()] + [f"B {k}" for k, _ in module.named_buffers()]))
        with open(code_path, "w") as f:
            f.write(module.code)
        print(",".join(str(d) for d in y.shape))
        """;

    /// <summary>Networks of different kinds: pyramid pooling, two branches, unpooling and transposed convolutions, Fast_Seg's ESPNet, an SMP decoder.</summary>
    public static IEnumerable<object[]> Networks() =>
        new[] { "fastscnn", "ddrnet", "bisenetv2", "enet", "fast_seg/espnet", "smp/unet" }.Select(n => new object[] { n });

    [PythonTorchTheory]
    [MemberData(nameof(Networks))]
    public void TracedFileGivesFastSegsLogitsInPythonAndInLibtorch(string name)
    {
        using var model = Build(name);
        var shape = Size(model, 64, 128);
        var folder = Directory.CreateTempSubdirectory("fastseg-torchscript-").FullName;
        try
        {
            var path = Path.Combine(folder, "net.pt");
            TorchScriptExporter.Export(model, path, new TorchScriptExportOptions { InputShape = shape });
            var expected = Reference(model, shape);

            var input = Path.Combine(folder, "input.bin");
            File.WriteAllBytes(input, MemoryMarshal.AsBytes(InputValues(shape).AsSpan()).ToArray());
            var (output, keys, code) = (Path.Combine(folder, "output.bin"), Path.Combine(folder, "keys.txt"), Path.Combine(folder, "code.txt"));
            var stdout = PythonTorch.RunChecked(LoadScript, path, input, string.Join(",", shape), output, keys, code);
            var pythonShape = stdout.Trim().Split(',').Select(long.Parse).ToArray();
            var pythonLogits = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(output)).ToArray();
            AssertClose(expected, (pythonLogits, pythonShape), $"{name} traced, run by python3-torch");

            // The network's own parameter and buffer names (folding adds the biases of convolutions that had none).
            var scriptKeys = File.ReadAllLines(keys).ToHashSet();
            var persistent = model.state_dict().Keys.ToHashSet();
            var expectedKeys = model.named_parameters().Select(p => "P " + p.name)
                .Concat(model.named_buffers().Where(b => persistent.Contains(b.name)).Select(b => "B " + b.name));
            var missing = expectedKeys.Where(k => !scriptKeys.Contains(k)).ToList();
            Assert.True(missing.Count == 0, $"{name}: the TorchScript module lacks {string.Join(", ", missing.Take(5))}");
            // Batch norms after convolutions are folded; only those the folding left (after an add or a concat) remain.
            using (var form = ExportForm.Create(model, foldBatchNorm: true))
            {
                var folding = ((InferenceModel)form.Module).Folding!;
                Assert.NotEmpty(folding.Folded);
                int batchNorms = File.ReadAllText(code).Split("torch.batch_norm(").Length - 1;
                Assert.Equal(folding.Unfolded.Count, batchNorms);
            }

            using var loaded = jit.load(path);
            using var scope = NewDisposeScope();
            using var grad = no_grad();
            var logits = loaded.call(InputTensor(shape));
            AssertClose(expected, (logits.contiguous().ToArray<float>(), logits.shape), $"{name} traced, loaded back into libtorch");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A module whose forward fails after some traced calls, as a network given a wrong input would.</summary>
    private sealed class FailingForward : nn.Module<Tensor, Tensor>
    {
        public FailingForward() : base(nameof(FailingForward)) { }

        public override Tensor forward(Tensor input)
        {
            var x = input.relu();
            throw new ArgumentException($"FailingForward refuses [{string.Join(", ", x.shape)}]");
        }
    }

    [Fact]
    public void BadCasesFailWithOneClearErrorAndWriteNoFile()
    {
        var folder = Directory.CreateTempSubdirectory("fastseg-torchscript-bad-").FullName;
        try
        {
            using var model = Build("erfnet");
            var options = new TorchScriptExportOptions { InputShape = Size(model, 64, 128) };
            var missing = Path.Combine(folder, "no-such-folder", "net.pt");
            var error = Assert.Throws<DirectoryNotFoundException>(() => TorchScriptExporter.Export(model, missing, options));
            Assert.Contains(Path.Combine(folder, "no-such-folder"), error.Message);

            var path = Path.Combine(folder, "net.pt");
            model.train();
            var training = Assert.Throws<InvalidOperationException>(() => TorchScriptExporter.Export(model, path, options));
            Assert.Contains("training mode", training.Message);
            model.eval();

            // An exception inside the traced forward comes back as itself, through libtorch's tracer.
            using var failing = new FailingForward();
            failing.eval();
            var thrown = Assert.Throws<ArgumentException>(() => TorchScriptExporter.Export(failing, path, new TorchScriptExportOptions { InputShape = [1, 3, 8, 8] }));
            Assert.Equal("FailingForward refuses [1, 3, 8, 8]", thrown.Message);
            Assert.Empty(Directory.GetFileSystemEntries(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
