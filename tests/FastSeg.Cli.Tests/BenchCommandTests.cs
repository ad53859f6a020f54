using System.Text.Json;
using Xunit;

namespace FastSeg.Cli.Tests;

public class BenchCommandTests
{
    private static (int code, string stdout, string stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CommandLine.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static readonly string[] Small = { "--size", "128x64", "--min-seconds", "0.2", "--warmup", "1" };

    [Fact]
    public void JsonForOneModelHasExactlyTheKeysAndConsistentFigures()
    {
        var (code, stdout, stderr) = Run(new[] { "bench", "--model", "linknet", "--json" }.Concat(Small).ToArray());
        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(new[] { "model", "size", "batch", "form", "dtype", "threads", "ms", "fps" }, root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("linknet", root.GetProperty("model").GetString());
        Assert.Equal("128x64", root.GetProperty("size").GetString());
        Assert.Equal(1, root.GetProperty("batch").GetInt32());
        // by default the inference form at --precision auto (linknet's transposed convolutions stay fp32 inside a bf16 form)
        Assert.Equal("inference", root.GetProperty("form").GetString());
        Assert.Equal(FastSeg.Models.Inference.CpuFeatures.HasNativeBFloat16 ? "bf16" : "fp32", root.GetProperty("dtype").GetString());
        Assert.True(root.GetProperty("threads").GetInt32() >= 1);
        double ms = root.GetProperty("ms").GetDouble(), fps = root.GetProperty("fps").GetDouble();
        Assert.True(ms > 0 && fps > 0);
        Assert.InRange(ms * fps, 999.0, 1001.0); // batch 1: fps = 1000 / ms
    }

    [Fact]
    public void BatchMultipliesFpsAndBf16ChannelsLastRuns()
    {
        var (code, stdout, stderr) = Run(new[] { "bench", "--model", "fastscnn", "--batch", "2", "--dtype", "bf16", "--channels-last", "--json" }.Concat(Small).ToArray());
        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("eager", root.GetProperty("form").GetString()); // --dtype and --channels-last time the network as built
        Assert.Equal("bf16", root.GetProperty("dtype").GetString());
        Assert.Equal(2, root.GetProperty("batch").GetInt32());
        Assert.InRange(root.GetProperty("ms").GetDouble() * root.GetProperty("fps").GetDouble(), 1998.0, 2002.0);
    }

    [Fact]
    public void TextOutputNamesTheFigures()
    {
        var (code, stdout, stderr) = Run(new[] { "bench", "--model", "enet" }.Concat(Small).ToArray());
        Assert.True(code == 0, stderr);
        Assert.Contains("enet:", stdout);
        Assert.Contains("FPS", stdout);
    }

    [Fact]
    public void UnknownModelIsOneLineAndNonZero()
    {
        var (code, stdout, stderr) = Run(new[] { "bench", "--model", "nosuchnet" }.Concat(Small).ToArray());
        Assert.NotEqual(0, code);
        Assert.Equal("", stdout);
        Assert.Contains("unknown model 'nosuchnet'", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public void SizeTheNetworkDoesNotAcceptIsAClearError()
    {
        var (code, _, stderr) = Run("bench", "--model", "linknet", "--size", "100x50", "--min-seconds", "0", "--warmup", "0");
        Assert.NotEqual(0, code);
        Assert.Contains("multiples of 32", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public void LibtorchErrorIsOneLineAndNonZero()
    {
        // libtorch 1.13 has no bf16 max_unpool2d (ENet's decoder)
        var (code, stdout, stderr) = Run(new[] { "bench", "--model", "enet", "--dtype", "bf16" }.Concat(Small).ToArray());
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Contains("max_unpool2d", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public void Bf16AutocastRunsWhatConvertedBf16CannotRun()
    {
        var (code, stdout, stderr) = Run(new[] { "bench", "--model", "enet", "--dtype", "bf16-autocast", "--json" }.Concat(Small).ToArray());
        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("bf16-autocast", root.GetProperty("dtype").GetString());
        Assert.True(root.GetProperty("fps").GetDouble() > 0);
    }

    [Fact]
    public void AllJsonIsSortedByFpsWithParamsAndGflops()
    {
        // 128x128: a multiple of every network's input multiple (smp/pan needs 128).
        var (code, stdout, stderr) = Run("bench", "--all", "--size", "128x128", "--min-seconds", "0", "--warmup", "0", "--json");
        Assert.True(code == 0, stderr);
        var items = JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(FastSeg.Models.Zoo.ModelZoo.Names.OrderBy(n => n), items.Select(i => i.GetProperty("model").GetString()!).OrderBy(n => n));
        Assert.Equal(new[] { "model", "size", "batch", "form", "dtype", "threads", "ms", "fps", "params", "gflops" },
            items[0].EnumerateObject().Select(p => p.Name));
        var fps = items.Select(i => i.GetProperty("fps").GetDouble()).ToList();
        Assert.Equal(fps.OrderByDescending(f => f), fps);
        Assert.All(items, i => Assert.True(i.GetProperty("params").GetInt64() > 0 && i.GetProperty("gflops").GetDouble() > 0));
    }

    /// <summary>Calls per frame of <paramref name="op"/> in a --profile table on stderr (0 when absent).</summary>
    private static double ProfiledCalls(string stderr, string op) =>
        stderr.Split('\n').Where(l => l.StartsWith(op + " ", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[68..75], System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public void ProfileListsTheOperatorsOfTheFusedAndThePlainForm()
    {
        string[] common = { "bench", "--model", "fastscnn", "--precision", "fp32", "--profile", "--profile-runs", "2", "--json" };
        var (code, stdout, fused) = Run(common.Concat(Small).ToArray());
        Assert.True(code == 0, fused);
        Assert.Equal("inference", JsonDocument.Parse(stdout).RootElement.GetProperty("form").GetString());
        (code, _, var plain) = Run(common.Append("--no-fused-kernels").Concat(Small).ToArray());
        Assert.True(code == 0, plain);
        Assert.Contains("per-operator profile over 2 forwards", fused);
        Assert.Contains("outside operators", fused);
        // Every convolution runs prepacked in the fused form and as aten::conv2d in the plain one, once per call.
        double prepacked = ProfiledCalls(fused, "mkldnn_prepacked::conv2d_run"), convolutions = ProfiledCalls(plain, "aten::conv2d");
        Assert.True(prepacked > 10, fused);
        Assert.Equal(convolutions, prepacked);
        Assert.Equal(0, ProfiledCalls(fused, "aten::conv2d"));
        Assert.Equal(0, ProfiledCalls(plain, "mkldnn_prepacked::conv2d_run"));
        // --profile is for one network; --no-fused-kernels is an inference-form option.
        Assert.NotEqual(0, Run("bench", "--all", "--profile").code);
        Assert.NotEqual(0, Run("bench", "--model", "fastscnn", "--eager", "--no-fused-kernels").code);
    }

    [Theory]
    [InlineData("--size", "1024")]
    [InlineData("--size", "axb")]
    [InlineData("--dtype", "fp16")]
    [InlineData("--precision", "fp16")]
    [InlineData("--min-seconds", "soon")]
    public void BadOptionsExitNonZero(string option, string value)
    {
        var (code, _, stderr) = Run("bench", "--model", "linknet", option, value);
        Assert.NotEqual(0, code);
        Assert.Contains(option, stderr);
    }

    [Theory]
    [InlineData("fp32", "fp32")]
    [InlineData("bf16", "bf16")]
    public void PrecisionTimesTheInferenceForm(string precision, string dtype)
    {
        var (code, stdout, stderr) = Run(new[] { "bench", "--model", "enet", "--precision", precision, "--json" }.Concat(Small).ToArray());
        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("inference", root.GetProperty("form").GetString());
        Assert.Equal(dtype, root.GetProperty("dtype").GetString());
        // --eager times the network as built
        (code, stdout, stderr) = Run(new[] { "bench", "--model", "enet", "--eager", "--json" }.Concat(Small).ToArray());
        Assert.True(code == 0, stderr);
        Assert.Equal("eager", JsonDocument.Parse(stdout).RootElement.GetProperty("form").GetString());
    }

    [Fact]
    public void PrecisionWithEagerOptionsIsAUsageError()
    {
        var (code, _, stderr) = Run("bench", "--model", "enet", "--precision", "bf16", "--dtype", "bf16");
        Assert.Equal(2, code);
        Assert.Contains("--precision", stderr);
    }

    [Fact]
    public void ModelAndAllTogetherIsAUsageError()
    {
        var (code, _, _) = Run("bench", "--model", "linknet", "--all");
        Assert.Equal(2, code);
        (code, _, _) = Run("bench");
        Assert.Equal(2, code);
    }
}
