using System.Diagnostics;
using System.Globalization;
using FastSeg.Export;
using FastSeg.Models.Zoo;
using Microsoft.ML.OnnxRuntime;
using static FastSeg.Torch.torch;

namespace FastSeg.Benchmarks;

/// <summary>
/// <c>-- onnx --model NAME [--size 1024x512] [--rounds 20]</c>: one eval forward of a zoo network in FastSeg's engine
/// and in ONNX Runtime on the file FastSeg exported of the same network (batch norms folded, as <c>fastseg export</c>
/// writes it), timed alternately (one engine call, then one
/// ONNX Runtime call, per round, after warm-up), both with <see cref="BenchSettings"/>' thread count. Prints the median
/// and minimum milliseconds of each and their ratio.
/// </summary>
public static class OnnxRuntimeComparison
{
    public static int Run(string[] args)
    {
        string model = "ddrnet";
        int width = 1024, height = 512, rounds = 20;
        for (int k = 0; k + 1 < args.Length; k += 2)
        {
            switch (args[k])
            {
                case "--model": model = args[k + 1]; break;
                case "--size":
                    var parts = args[k + 1].Split('x');
                    width = int.Parse(parts[0], CultureInfo.InvariantCulture);
                    height = int.Parse(parts[1], CultureInfo.InvariantCulture);
                    break;
                case "--rounds": rounds = int.Parse(args[k + 1], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown option {args[k]}"); return 2;
            }
        }
        int threads = BenchSettings.Threads;
        set_num_threads(threads);
        manual_seed(0);
        using var net = ModelZoo.Create(model);
        net.eval();
        long[] shape = [1, 3, height, width];
        // The folded inference form (no BatchNormalization after convolutions), as `fastseg export` writes it: the
        // graph a deployment would run.
        var bytes = OnnxExporter.ExportToBytes(net, new OnnxExportOptions { InputShape = shape, FoldBatchNorm = true });
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        // ONNX Runtime's pool spins after each run by default; spinning threads would take the cores from the next
        // engine call of the alternation.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        using var session = new InferenceSession(bytes, options);

        var values = new float[3L * height * width];
        for (int j = 0; j < values.Length; j++) values[j] = (float)Math.Sin(0.013 * j);
        using var input = tensor(values, shape);
        var ortInput = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(values, [1, 3, height, width]);
        var inputs = new[] { NamedOnnxValue.CreateFromTensor("input", ortInput) };

        double Engine()
        {
            var clock = Stopwatch.StartNew();
            using var scope = NewDisposeScope();
            using var grad = no_grad();
            _ = net.call(input);
            return clock.Elapsed.TotalMilliseconds;
        }
        double Ort()
        {
            var clock = Stopwatch.StartNew();
            using var results = session.Run(inputs);
            return clock.Elapsed.TotalMilliseconds;
        }

        for (int w = 0; w < 3; w++) { Engine(); Ort(); }
        var engine = new List<double>();
        var ort = new List<double>();
        for (int r = 0; r < rounds; r++) { engine.Add(Engine()); ort.Add(Ort()); }
        static double Median(List<double> v) { var s = v.Order().ToList(); return s[s.Count / 2]; }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{model} {width}x{height} threads={threads} rounds={rounds}: FastSeg engine median {Median(engine):F1} ms (min {engine.Min():F1}), " +
            $"ONNX Runtime median {Median(ort):F1} ms (min {ort.Min():F1}), engine/ORT {Median(engine) / Median(ort):F2}"));
        return 0;
    }
}
