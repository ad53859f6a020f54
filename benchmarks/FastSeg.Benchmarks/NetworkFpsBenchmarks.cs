using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using FastSeg.Models;
using FastSeg.Models.Zoo;
using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Benchmarks;

/// <summary>
/// Inference speed of every zoo network: one forward pass of a 1x3x512x1024 batch of zeros (19 classes, the network's
/// default encoder, no aux or detail heads), in eval mode under <c>inference_mode</c>, the output freed by a dispose
/// scope per call — the measurement of <c>fastseg bench</c> and the FPS table in RESULTS.md, as a BenchmarkDotNet
/// class. Cases: network (<see cref="ModelZoo.Names"/>, or the comma-separated FASTSEG_BENCH_NETWORKS) × device (cpu,
/// and cuda when libtorch sees a CUDA device) × precision, one method per precision so that
/// <c>--anyCategories fp32</c> / <c>bf16</c> picks one. The model and input are built in the global setup, outside the
/// timed method. The FPS column is 1000 / mean latency in ms (batch 1).
/// </summary>
/// <remarks>
/// bf16 means weights and input converted to bfloat16 (<c>model.to(bfloat16)</c>). libtorch 1.13's CPU kernels cannot
/// run two layers that way — bfloat16 <c>conv_transpose2d</c> with an output padding fails with a channel or size
/// mismatch, and <c>max_unpool2d</c> has no bfloat16 kernel (RESULTS.md, footnotes of the FPS table) — so on the CPU the
/// networks that contain a ConvTranspose2d or MaxUnpool2d (enet, erfnet, espnet, linknet, segnet) keep float32 weights
/// and input and run under CPU autocast to bfloat16 instead, as <c>fastseg bench --dtype bf16-autocast</c> does. The
/// "BF16 path" column says which was used. On CUDA every network runs converted; the forward is followed by a one-value
/// copy to the host so that the timed call waits for the GPU.
/// </remarks>
[Config(typeof(NetworkFpsConfig))]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 10, invocationCount: 1)]
public class NetworkFpsBenchmarks
{
    /// <summary>Input height (the reference's speed test: 1024x512).</summary>
    public const int Height = 512;

    /// <summary>Input width.</summary>
    public const int Width = 1024;

    private SegmentationModel? _model;
    private Tensor? _input;
    private bool _autocast;
    private Device _device = CPU;

    /// <summary>The zoo network.</summary>
    [ParamsSource(nameof(Networks))]
    public string Network { get; set; } = "fastscnn";

    /// <summary>Where it runs.</summary>
    [ParamsSource(nameof(Devices))]
    public string Device { get; set; } = "cpu";

    /// <summary>Every registered network, or the ones named in FASTSEG_BENCH_NETWORKS (comma-separated).</summary>
    public static IEnumerable<string> Networks()
    {
        var chosen = Environment.GetEnvironmentVariable("FASTSEG_BENCH_NETWORKS");
        if (string.IsNullOrWhiteSpace(chosen)) return ModelZoo.Names;
        var names = chosen.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var name in names)
        {
            if (!ModelZoo.Names.Contains(name.ToLowerInvariant()))
                throw new ArgumentException($"FASTSEG_BENCH_NETWORKS names '{name}', which is not a zoo network; valid names: {string.Join(", ", ModelZoo.Names)}");
        }
        return names.Select(n => n.ToLowerInvariant());
    }

    /// <summary>cpu, and cuda when this libtorch has a CUDA device.</summary>
    public static IEnumerable<string> Devices() => cuda.is_available() ? new[] { "cpu", "cuda" } : new[] { "cpu" };

    /// <summary>
    /// Whether <paramref name="network"/> runs its bf16 case under autocast on <paramref name="device"/>: on the CPU when
    /// it contains a layer libtorch 1.13 cannot run with bfloat16 weights (see the class remarks).
    /// </summary>
    public static bool UsesAutocast(string network, string device) =>
        device == "cpu" && Bf16Unsupported.GetOrAdd(network, static name =>
        {
            using var model = ModelZoo.Create(name);
            return model.modules().Any(m => m is FastSeg.Torch.Modules.ConvTranspose2d or FastSeg.Torch.Modules.MaxUnpool2d);
        });

    private static readonly ConcurrentDictionary<string, bool> Bf16Unsupported = new();

    [GlobalSetup(Target = nameof(Fp32))]
    public void SetupFp32() => Setup(bf16: false);

    [GlobalSetup(Target = nameof(Bf16))]
    public void SetupBf16() => Setup(bf16: true);

    private void Setup(bool bf16)
    {
        BenchSettings.Apply();
        _device = new Device(Device);
        _autocast = bf16 && UsesAutocast(Network, Device);
        var dtype = bf16 && !_autocast ? ScalarType.BFloat16 : ScalarType.Float32;
        _model = ModelZoo.Create(Network);
        _model.eval();
        _model.to(_device);
        if (dtype != ScalarType.Float32) _model.to(dtype);
        _input = zeros(new long[] { 1, 3, Height, Width }, dtype, _device);
        _model.CheckInput(_input);
        Console.WriteLine($"// {Network} on {Device}: {(bf16 ? (_autocast ? "float32 weights under bfloat16 autocast" : "bfloat16 weights and input") : "float32")}");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _input?.Dispose();
        _model?.Dispose();
        _input = null;
        _model = null;
    }

    /// <summary>One float32 forward pass.</summary>
    [Benchmark, BenchmarkCategory("fp32")]
    public void Fp32() => Forward();

    /// <summary>One bfloat16 forward pass (converted weights, or autocast where libtorch needs it).</summary>
    [Benchmark, BenchmarkCategory("bf16")]
    public void Bf16()
    {
        if (!_autocast)
        {
            Forward();
            return;
        }
        using var mixed = autocast(_device.type, ScalarType.BFloat16);
        Forward();
    }

    private void Forward()
    {
        // Inference mode and the scope are thread state, so they are entered per call; both cost microseconds.
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var logits = _model!.call(_input!);
        if (_device.type == DeviceType.CUDA)
            logits.flatten()[0].item<float>();   // waits for the GPU: kernels are queued asynchronously
    }
}

/// <summary>Adds the FPS and BF16-path columns to <see cref="NetworkFpsBenchmarks"/>' summary.</summary>
public sealed class NetworkFpsConfig : ManualConfig
{
    public NetworkFpsConfig()
    {
        AddColumn(new FpsColumn(), new Bf16PathColumn());
    }
}

/// <summary>Frames per second at batch 1: 1000 / mean latency in ms.</summary>
public sealed class FpsColumn : IColumn
{
    public string Id => nameof(FpsColumn);
    public string ColumnName => "FPS";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Frames per second at batch 1: 1000 / mean latency in ms";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var statistics = summary[benchmarkCase]?.ResultStatistics;
        if (statistics is null || statistics.Mean <= 0) return "NA";
        return (1e9 / statistics.Mean).ToString("N2", style.CultureInfo);   // Mean is in nanoseconds
    }

    public override string ToString() => ColumnName;
}

/// <summary>How a bf16 case ran: "converted" (bfloat16 weights and input) or "autocast"; "-" for fp32.</summary>
public sealed class Bf16PathColumn : IColumn
{
    public string Id => nameof(Bf16PathColumn);
    public string ColumnName => "BF16 path";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 1;
    public bool IsNumeric => false;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "bf16 cases: bfloat16 weights and input (converted) or float32 weights under bfloat16 autocast";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (benchmarkCase.Descriptor.WorkloadMethod.Name != nameof(NetworkFpsBenchmarks.Bf16)) return "-";
        var network = (string)benchmarkCase.Parameters[nameof(NetworkFpsBenchmarks.Network)];
        var device = (string)benchmarkCase.Parameters[nameof(NetworkFpsBenchmarks.Device)];
        return NetworkFpsBenchmarks.UsesAutocast(network, device) ? "autocast" : "converted";
    }

    public override string ToString() => ColumnName;
}
