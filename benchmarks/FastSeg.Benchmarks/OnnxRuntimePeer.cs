using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FastSeg.Models;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using Microsoft.ML.OnnxRuntime;
using static FastSeg.Torch.torch;

namespace FastSeg.Benchmarks;

/// <summary>
/// <c>-- ort-peer --model NAME --onnx FILE [--size 1024x512] [--threads 2] [--warmup 2] [--rounds 20] [--seconds 60]</c>:
/// the CPU peer comparison of issue #15 for one network, in one process. Four forms of the same frame are timed
/// round by round, in this order each round: ONNX Runtime fp32 on FILE (the reference PyTorch code's export, made by
/// tools/export_reference_onnx.py), FastSeg eager fp32 (the zoo network as built, eval, no_grad), FastSeg's inference
/// form in fp32 and in bf16 (<see cref="SegmentationModel.ForInference"/>, which converts the float32 NCHW input
/// itself, so that is timed too). After <c>--warmup</c> untimed rounds the round count is <c>--rounds</c>, or fewer
/// when <c>--seconds</c> is given and the warm-up rounds say that many would take longer (at least 3 rounds).
/// Prints one JSON line: model, size, threads, rounds, and per form the median and minimum ms and the output shape
/// (so a reference that returns logits at another resolution than FastSeg shows), or the error that kept an inference
/// form from being made.
/// </summary>
public static class OnnxRuntimePeer
{
    private const int MinimumRounds = 3;

    public static int Run(string[] args)
    {
        string? model = null, onnx = null;
        int width = 1024, height = 512, threads = 2, warmup = 2, rounds = 20;
        double? seconds = null;
        for (int k = 0; k < args.Length; k += 2)
        {
            if (k + 1 >= args.Length) { Console.Error.WriteLine($"option {args[k]} needs a value"); return 2; }
            string value = args[k + 1];
            switch (args[k])
            {
                case "--model": model = value; break;
                case "--onnx": onnx = value; break;
                case "--size":
                    var parts = value.Split('x');
                    width = int.Parse(parts[0], CultureInfo.InvariantCulture);
                    height = int.Parse(parts[1], CultureInfo.InvariantCulture);
                    break;
                case "--threads": threads = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--seconds": seconds = double.Parse(value, CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown option {args[k]}"); return 2;
            }
        }
        if (model is null || onnx is null) { Console.Error.WriteLine("ort-peer needs --model NAME and --onnx FILE"); return 2; }
        if (!File.Exists(onnx)) { Console.Error.WriteLine($"ONNX file {onnx} does not exist"); return 1; }
        if (warmup < 1 || rounds < MinimumRounds) { Console.Error.WriteLine($"--warmup must be at least 1 and --rounds at least {MinimumRounds}"); return 2; }

        set_num_threads(threads);
        manual_seed(0);
        long[] shape = [1, 3, height, width];
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        // ONNX Runtime's pool spins after each run by default; spinning threads would take the cores from the next
        // FastSeg call of the alternation.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        using var session = new InferenceSession(onnx, options);
        string inputName = session.InputMetadata.Keys.First();

        using var eager = ModelZoo.Create(model);
        eager.eval();
        // A form that cannot be made is reported in the JSON line ("error") and left out of the alternation, so the
        // other forms of the network are still measured.
        var errors = new Dictionary<string, string>();
        InferenceModel? MakeForm(string form, InferencePrecision precision)
        {
            try
            {
                return eager.ForInference(new InferenceOptions { Precision = precision });
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or FastSeg.Torch.TorchException)
            {
                errors[form] = $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";
                return null;
            }
        }
        using var inferenceFp32 = MakeForm("fastseg-inference-fp32", InferencePrecision.Fp32);
        using var inferenceBf16 = MakeForm("fastseg-inference-bf16", InferencePrecision.BFloat16);

        var values = new float[3L * height * width];
        for (int j = 0; j < values.Length; j++) values[j] = (float)Math.Sin(0.013 * j);
        using var input = tensor(values, shape);
        var ortInput = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(values, [1, 3, height, width]);
        var inputs = new[] { NamedOnnxValue.CreateFromTensor(inputName, ortInput) };

        var shapes = new Dictionary<string, long[]>();
        double Ort()
        {
            var clock = Stopwatch.StartNew();
            using var results = session.Run(inputs);
            double ms = clock.Elapsed.TotalMilliseconds;
            shapes["ort-fp32"] = results.First().AsTensor<float>().Dimensions.ToArray().Select(d => (long)d).ToArray();
            return ms;
        }
        Func<double> Timed(string form, SegmentationModel net) => () =>
        {
            using var scope = NewDisposeScope();
            using var grad = no_grad();
            var clock = Stopwatch.StartNew();
            var output = net.call(input);
            double ms = clock.Elapsed.TotalMilliseconds;
            shapes[form] = output.shape;
            return ms;
        };
        var forms = new List<(string Name, Func<double> Run)>
        {
            ("ort-fp32", Ort),
            ("fastseg-eager-fp32", Timed("fastseg-eager-fp32", eager)),
        };
        if (inferenceFp32 is not null) forms.Add(("fastseg-inference-fp32", Timed("fastseg-inference-fp32", inferenceFp32)));
        if (inferenceBf16 is not null) forms.Add(("fastseg-inference-bf16", Timed("fastseg-inference-bf16", inferenceBf16)));

        var warmClock = Stopwatch.StartNew();
        for (int w = 0; w < warmup; w++)
            foreach (var f in forms) f.Run();
        double roundSeconds = warmClock.Elapsed.TotalSeconds / warmup;
        if (seconds is { } budget) rounds = Math.Clamp((int)(budget / roundSeconds), MinimumRounds, rounds);

        var times = forms.ToDictionary(f => f.Name, _ => new List<double>());
        for (int r = 0; r < rounds; r++)
            foreach (var f in forms) times[f.Name].Add(f.Run());

        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            w.WriteString("onnx", Path.GetFileName(onnx));
            w.WriteString("size", $"{width}x{height}");
            w.WriteNumber("batch", 1);
            w.WriteNumber("threads", threads);
            w.WriteNumber("warmup", warmup);
            w.WriteNumber("rounds", rounds);
            w.WriteString("bf16_native", CpuFeatures.HasNativeBFloat16 ? "yes" : "no");
            w.WriteStartObject("forms");
            foreach (var f in forms)
            {
                var sorted = times[f.Name].Order().ToList();
                w.WriteStartObject(f.Name);
                w.WriteNumber("median_ms", Math.Round(Median(sorted), 3));
                w.WriteNumber("min_ms", Math.Round(sorted[0], 3));
                w.WriteStartArray("output_shape");
                foreach (var d in shapes[f.Name]) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            foreach (var (form, error) in errors)
            {
                w.WriteStartObject(form);
                w.WriteString("error", error);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        Console.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
        return 0;
    }

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}
