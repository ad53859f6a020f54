using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Tests;

/// <summary>torch.jit.save_traced (libtorch's tracer over a C# forward) and torch.jit.load.</summary>
public class JitTests
{
    private static FixtureNet EvalNet()
    {
        manual_seed(11);
        var net = new FixtureNet();
        using var grad = no_grad();
        foreach (var (key, buffer) in net.named_buffers())
            if (key.EndsWith("running_var", StringComparison.Ordinal)) buffer.copy_(rand_like(buffer) + 0.5);
        net.eval();
        return net;
    }

    private static Tensor Input(long seed) => (arange(0, 3 * 16 * 16, dtype: ScalarType.Float32) * (0.1 + seed)).sin().reshape(1, 3, 16, 16);

    [Fact]
    public void TracedModuleRunsLikeTheModuleAndKeepsItsStateDictKeys()
    {
        var folder = Directory.CreateTempSubdirectory("fastseg-jit-").FullName;
        try
        {
            using var net = EvalNet();
            var path = Path.Combine(folder, "net.pt");
            using (var example = Input(1))
            using (no_grad())
                jit.save_traced(net, example, path);
            Assert.Single(Directory.GetFiles(folder));

            using var loaded = jit.load(path);
            using var scope = NewDisposeScope();
            using var grad = no_grad();
            var x = Input(2); // another input of the traced size
            var expected = net.call(x);
            var actual = loaded.call(x);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True((actual - expected).abs().max().item<float>() <= 1e-5f * expected.abs().max().item<float>());

            if (!PythonTorch.IsAvailable) return;
            var keys = PythonTorch.RunChecked("""
                import sys, torch
                m = torch.jit.load(sys.argv[1])
                print("\n".join(m.state_dict().keys()))
                """, path);
            Assert.Equal(net.state_dict().Keys, keys.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void LoadNamesTheFileThatIsMissingOrNotTorchScript()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"fastseg-no-such-{Guid.NewGuid():N}.pt");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => jit.load(missing)).Message);
        var text = Path.GetTempFileName();
        try
        {
            File.WriteAllText(text, "not a TorchScript archive");
            Assert.Throws<TorchException>(() => jit.load(text));
        }
        finally
        {
            File.Delete(text);
        }
    }
}
