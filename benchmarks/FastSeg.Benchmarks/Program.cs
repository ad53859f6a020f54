using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace FastSeg.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project benchmarks/FastSeg.Benchmarks -- [filter] [BenchmarkDotNet options]</c>.
/// A first argument that is not an option is taken as a filter glob (<c>*Conv*</c>, <c>*TinyOp*</c>); with no
/// arguments every benchmark runs. Any BenchmarkDotNet option still works (<c>--list flat</c>, <c>--inProcess</c>, ...).
/// <c>-- cputime [rounds]</c> runs <see cref="CpuTimeHarness"/> instead of BenchmarkDotNet, and <c>-- train --model NAME</c>
/// the training-throughput measurement (<see cref="TrainingThroughput"/>), <c>-- onnx --model NAME</c> FastSeg's engine
/// against ONNX Runtime on the exported network (<see cref="OnnxRuntimeComparison"/>), <c>-- ort-peer --model NAME --onnx FILE</c>
/// ONNX Runtime on the reference code's export against FastSeg's eager network and inference forms
/// (<see cref="OnnxRuntimePeer"/>), <c>-- memory --model NAME --form eager|fp32|bf16</c> the peak memory of one
/// prediction (<see cref="PredictionMemory"/>).
/// The intra-op thread count comes from FASTSEG_BENCH_THREADS (default: every core), see <see cref="BenchSettings"/>.
/// <see cref="NetworkFpsBenchmarks"/> (<c>'*NetworkFps*' --anyCategories fp32</c>) times whole networks; FASTSEG_BENCH_NETWORKS
/// (comma-separated) limits it to some of them.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "train")
            return TrainingThroughput.Run(args[1..]);
        if (args.Length > 0 && args[0] == "onnx")
            return OnnxRuntimeComparison.Run(args[1..]);
        if (args.Length > 0 && args[0] == "ort-peer")
            return OnnxRuntimePeer.Run(args[1..]);
        if (args.Length > 0 && args[0] == "memory")
            return PredictionMemory.Run(args[1..]);
        if (args.Length > 0 && args[0] == "cputime")
            return CpuTimeHarness.Run(args.Length > 1 && int.TryParse(args[1], out var rounds) ? rounds : 3);
        if (args.Length == 0) args = new[] { "--filter", "*" };
        else if (!args[0].StartsWith('-')) args = new[] { "--filter" }.Concat(args).ToArray();

        var config = DefaultConfig.Instance
            .AddColumn(StatisticColumn.Median, new PercentileColumn(10), StatisticColumn.P90, StatisticColumn.Min)
            .WithOptions(ConfigOptions.JoinSummary);

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
