using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FastSeg.Models;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using FastSeg.Torch.Profiling;
using static FastSeg.Torch.torch;

namespace FastSeg.Cli.Commands;

/// <summary>
/// <c>fastseg bench</c>: inference latency and FPS of a network's inference form (<see cref="SegmentationModel.ForInference"/>,
/// at <c>--precision</c>), or of the network as built with <c>--eager</c> (eval mode, inference mode; <c>--dtype</c> and
/// <c>--channels-last</c> apply, and either implies <c>--eager</c>), on a batch of zeros.
/// Timing follows the reference's tools/test_speed.py, corrected: <c>--warmup</c> untimed forwards, then timed
/// forwards until at least <c>--min-seconds</c> have passed (and at least 3 runs); latency = elapsed / runs,
/// FPS = batch · 1000 / latency in ms.
/// </summary>
internal static class BenchCommand
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>The <c>bench</c> command.</summary>
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var model = Options.Text("--model", "the network to time", "NAME");
        var all = Options.Flag("--all", "time every network (each with its default encoder) and print a table sorted by FPS");
        var encoder = Options.Text("--encoder", "encoder of --model (default: the network's own)", "NAME");
        var size = Options.Size("--size", "input size (default 1024x512)");
        var batch = Options.Int("--batch", 1, "batch size", min: 1);
        var precision = Options.Precision("auto");
        var eager = Options.Flag("--eager", "time the network as built instead of its inference form (then --dtype and --channels-last apply)");
        var dtype = Options.Choice("--dtype", "fp32", "with --eager (implied): weights and input type; bf16-autocast keeps fp32 weights under CPU autocast",
            "fp32", "bf16", "bf16-autocast");
        var channelsLast = Options.Flag("--channels-last", "with --eager (implied): channels-last memory format for weights and input");
        var threads = Options.OptionalInt("--threads", "intra-op threads (default: libtorch's)", min: 1);
        var minSeconds = Options.Double("--min-seconds", 3, "time at least this long after warm-up", min: 0);
        var warmup = Options.Int("--warmup", 3, "untimed warm-up forwards", min: 0);
        var json = Options.Flag("--json", "print {model, size, batch, dtype, threads, ms, fps} (an array with --all)");
        var noFused = Options.Flag("--no-fused-kernels", "inference form without prepacked/fused convolutions (InferenceOptions.FusedKernels = false)");
        var profile = Options.Flag("--profile", "after timing, run --profile-runs more forwards and print the time per ATen operator (ms per frame, share of the frame) on stderr");
        var profileRuns = Options.Int("--profile-runs", 5, "forwards profiled with --profile", min: 1);
        var command = new Command("bench", "inference latency and FPS (default 1024x512, batch 1, fp32, at least 3 s)")
        {
            model, all, encoder, size, batch, precision, eager, dtype, channelsLast, threads, minSeconds, warmup, json, noFused,
            profile, profileRuns,
        };
        command.SetAction(parse =>
        {
            var (width, height) = parse.GetValue(size) ?? (1024, 512);
            bool eagerOptions = parse.GetResult(dtype) is { Implicit: false } || parse.GetValue(channelsLast);
            if ((eagerOptions || parse.GetValue(eager)) && parse.GetResult(precision) is { Implicit: false })
                throw new UsageException("--precision sets the inference form; --dtype and --channels-last set the eager network (--eager): give one or the other");
            if ((eagerOptions || parse.GetValue(eager)) && parse.GetValue(noFused))
                throw new UsageException("--no-fused-kernels sets the inference form; it cannot be combined with --eager, --dtype or --channels-last");
            if (parse.GetValue(profile) && parse.GetValue(all))
                throw new UsageException("--profile needs --model (one network at a time)");
            return Run(new BenchSettings(parse.GetValue(model), parse.GetValue(all), parse.GetValue(encoder), width, height,
                parse.GetValue(batch), parse.GetValue(dtype)!, parse.GetValue(channelsLast), parse.GetValue(threads),
                parse.GetValue(minSeconds), parse.GetValue(warmup), parse.GetValue(json))
            {
                Eager = parse.GetValue(eager) || eagerOptions,
                Precision = Options.ToPrecision(parse.GetValue(precision)!),
                FusedKernels = !parse.GetValue(noFused),
                ProfileRuns = parse.GetValue(profile) ? parse.GetValue(profileRuns) : 0,
            }, stdout, stderr);
        });
        return command;
    }

    /// <summary>What <c>fastseg bench</c> was asked for.</summary>
    internal sealed record BenchSettings(string? Model, bool All, string? Encoder, int Width, int Height, int Batch, string DType,
        bool ChannelsLast, int? Threads, double MinSeconds, int Warmup, bool Json)
    {
        /// <summary>Time the network as built (with <see cref="DType"/> and <see cref="ChannelsLast"/>) instead of its inference form.</summary>
        public bool Eager { get; init; }

        /// <summary>The inference form's precision (when not <see cref="Eager"/>).</summary>
        public InferencePrecision Precision { get; init; } = InferencePrecision.Auto;

        /// <summary>The inference form's <see cref="InferenceOptions.FusedKernels"/>.</summary>
        public bool FusedKernels { get; init; } = true;

        /// <summary>Forwards to profile per operator after timing (0: no profile).</summary>
        public int ProfileRuns { get; init; }
    }

    private sealed record Result(string Model, int Width, int Height, int Batch, string Form, string DType, bool ChannelsLast,
        int Threads, double Ms, double Fps, long? Params, double? GFlops)
    {
        public string Size => $"{Width}x{Height}";

        public string Describe => Form == "eager" ? $"eager {DType}{(ChannelsLast ? ", channels-last" : "")}" : $"inference form {DType}";
    }

    public static int Run(BenchSettings s, TextWriter stdout, TextWriter stderr)
    {
        bool all = s.All;
        string? modelName = s.Model;
        if (all == (modelName is not null)) throw new UsageException("bench needs exactly one of --model NAME and --all");
        string? encoder = s.Encoder;
        if (all && encoder is not null) throw new UsageException("--encoder needs --model (--all uses each network's default encoder)");
        ScalarType dtype = s.DType == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32;
        if (s.Threads is int n) set_num_threads(n);
        bool json = s.Json;

        if (!all)
        {
            var r = Measure(s, modelName!, encoder, dtype, complexity: false, stderr);
            if (json) WriteJson(stdout, w => WriteResult(w, r, withComplexity: false));
            else
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Model}: {r.Ms:F2} ms, {r.Fps:F2} FPS (batch {r.Batch}, {r.Size}, {r.Describe}, {r.Threads} threads)"));
            return 0;
        }

        // --all: a network libtorch cannot run in this configuration (e.g. bf16 conv_transpose2d or max_unpool2d in
        // libtorch 1.13) is named on stderr and left out; the others are still reported, and the exit code is 1.
        var results = new List<Result>();
        int failed = 0;
        foreach (var name in ModelZoo.Names)
        {
            try
            {
                results.Add(Measure(s, name, null, dtype, complexity: true, stderr));
                if (!json) stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name}: {results[^1].Fps:F2} FPS"));
            }
            catch (Exception e) when (e is FastSeg.Torch.TorchException or ArgumentException)
            {
                failed++;
                stderr.WriteLine($"fastseg bench: {name}: {CommandLine.Describe(e)}");
            }
        }
        if (results.Count == 0) return 1;
        results.Sort((a, b) => b.Fps.CompareTo(a.Fps));
        if (json)
        {
            WriteJson(stdout, w =>
            {
                w.WriteStartArray();
                foreach (var r in results) WriteResult(w, r, withComplexity: true);
                w.WriteEndArray();
            });
            return failed == 0 ? 0 : 1;
        }
        var first = results[0];
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"batch {first.Batch}, {first.Size}, {first.Describe}, {first.Threads} threads"));
        stdout.WriteLine($"{"model",-12} {"params",12} {"GFLOPs",8} {"ms",10} {"FPS",8}");
        foreach (var r in results)
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Model,-12} {r.Params,12:N0} {r.GFlops,8:F2} {r.Ms,10:F2} {r.Fps,8:F2}"));
        return failed == 0 ? 0 : 1;
    }

    private static Result Measure(BenchSettings s, string name, string? encoder, ScalarType dtype, bool complexity, TextWriter stderr)
    {
        int width = s.Width, height = s.Height, batch = s.Batch;
        using var model = ModelZoo.Create(name, encoder);
        model.eval();
        // The network's own check, before any work: an unaccepted size is one clear line (ArgumentException).
        using (var probe = zeros(1, 3, height, width)) model.CheckInput(probe);
        long? parameters = null;
        double? gflops = null;
        if (complexity)
        {
            var report = ModelComplexity.Measure(model, 1, 3, height, width);
            parameters = report.Parameters;
            gflops = report.GFlops;
        }
        if (!s.Eager)
        {
            // The inference form takes the float32 NCHW images users have and converts them itself, so that is timed too.
            using var form = model.ForInference(new InferenceOptions { Precision = s.Precision, FusedKernels = s.FusedKernels });
            using var images = zeros(batch, 3, height, width);
            var (ms, fps) = Time(form, images, batch, s.Warmup, s.MinSeconds, autocastBf16: false);
            if (s.ProfileRuns > 0) Profile(form, images, s.ProfileRuns, ms, autocastBf16: false, stderr);
            return new Result(model.Info!.Name, width, height, batch, "inference", form.DType == ScalarType.BFloat16 ? "bf16" : "fp32",
                form.ChannelsLast, get_num_threads(), ms, fps, parameters, gflops);
        }
        bool channelsLast = s.ChannelsLast;
        if (dtype != ScalarType.Float32) model.to(dtype);
        if (channelsLast)
        {
            using (no_grad())
            {
                foreach (var t in model.parameters().Cast<Tensor>().Concat(model.buffers()))
                {
                    if (t.dim() != 4) continue;
                    using var converted = t.contiguous(MemoryFormat.ChannelsLast);
                    if (!converted.is_same(t)) t.set_data(converted);
                }
            }
        }
        using var input = channelsLast
            ? zeros(new long[] { batch, 3, height, width }, dtype).contiguous(MemoryFormat.ChannelsLast)
            : zeros(new long[] { batch, 3, height, width }, dtype);
        // bf16: weights and input converted to bfloat16; bf16-autocast: fp32 weights and input, CPU autocast to
        // bfloat16 (runs ConvTranspose2d and MaxUnpool2d, which libtorch 1.13 cannot run in converted bf16).
        var (latencyMs, eagerFps) = Time(model, input, batch, s.Warmup, s.MinSeconds, autocastBf16: s.DType == "bf16-autocast");
        if (s.ProfileRuns > 0) Profile(model, input, s.ProfileRuns, latencyMs, autocastBf16: s.DType == "bf16-autocast", stderr);
        return new Result(model.Info!.Name, width, height, batch, "eager", s.DType, channelsLast, get_num_threads(), latencyMs, eagerFps, parameters, gflops);
    }

    private static (double Ms, double Fps) Time(SegmentationModel model, Tensor input, int batch, int warmup, double minSeconds, bool autocastBf16)
    {
        using var inference = inference_mode();
        using var mixed = autocastBf16 ? autocast(FastSeg.Torch.DeviceType.CPU, ScalarType.BFloat16) : null;
        for (int i = 0; i < warmup; i++) Forward(model, input);
        var watch = Stopwatch.StartNew();
        int runs = 0;
        while (runs < 3 || watch.Elapsed.TotalSeconds < minSeconds)
        {
            Forward(model, input);
            runs++;
        }
        watch.Stop();
        double latencyMs = watch.Elapsed.TotalMilliseconds / runs;
        return (latencyMs, batch * 1000.0 / latencyMs);
    }

    /// <summary>
    /// Runs <paramref name="runs"/> forwards under an <see cref="OperatorProfile"/> and prints, per operator and input
    /// kind, calls and milliseconds per frame and the share of the timed frame (<paramref name="frameMs"/>, measured
    /// without the profile's own overhead); "outside operators" is what the dispatcher calls do not account for.
    /// </summary>
    private static void Profile(SegmentationModel model, Tensor input, int runs, double frameMs, bool autocastBf16, TextWriter stderr)
    {
        using var inference = inference_mode();
        using var mixed = autocastBf16 ? autocast(FastSeg.Torch.DeviceType.CPU, ScalarType.BFloat16) : null;
        IReadOnlyList<OperatorProfile.Row> rows;
        var watch = Stopwatch.StartNew();
        using (var profile = OperatorProfile.Start())
        {
            for (int i = 0; i < runs; i++) Forward(model, input);
            watch.Stop();
            rows = profile.Rows;
        }
        double profiledMs = watch.Elapsed.TotalMilliseconds / runs;
        double inOps = rows.Sum(r => r.TotalMilliseconds) / runs;
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"per-operator profile over {runs} forwards: {profiledMs:F2} ms per profiled frame ({frameMs:F2} ms timed without the profile), {inOps:F2} ms in operators"));
        stderr.WriteLine($"{"operator",-40} {"first input",-26} {"calls",7} {"ms/frame",10} {"share",7}");
        foreach (var r in rows)
        {
            double ms = r.TotalMilliseconds / runs;
            if (ms < 0.005) continue;
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Operator,-40} {r.Input,-26} {r.Calls / (double)runs,7:F1} {ms,10:F2} {ms / profiledMs,7:P1}"));
        }
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{"outside operators",-40} {"",-26} {"",7} {profiledMs - inOps,10:F2} {(profiledMs - inOps) / profiledMs,7:P1}"));
    }

    private static void Forward(SegmentationModel model, Tensor input)
    {
        using var scope = NewDisposeScope();
        model.call(input);
    }

    private static void WriteResult(Utf8JsonWriter w, Result r, bool withComplexity)
    {
        w.WriteStartObject();
        w.WriteString("model", r.Model);
        w.WriteString("size", r.Size);
        w.WriteNumber("batch", r.Batch);
        w.WriteString("form", r.Form);
        w.WriteString("dtype", r.DType);
        w.WriteNumber("threads", r.Threads);
        w.WriteNumber("ms", Math.Round(r.Ms, 4));
        w.WriteNumber("fps", Math.Round(r.Fps, 4));
        if (withComplexity)
        {
            w.WriteNumber("params", r.Params!.Value);
            w.WriteNumber("gflops", Math.Round(r.GFlops!.Value, 4));
        }
        w.WriteEndObject();
    }

    private static void WriteJson(TextWriter stdout, Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Indented)) write(w);
        stdout.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }
}
