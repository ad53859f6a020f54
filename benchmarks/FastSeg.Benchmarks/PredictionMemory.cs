using System.Globalization;
using System.Text.Json;
using FastSeg.Models;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using static FastSeg.Torch.torch;

namespace FastSeg.Benchmarks;

/// <summary>
/// <c>-- memory --model NAME --form eager|fp32|bf16 [--size 2048x1024] [--threads 2]</c>: the resident memory one
/// prediction of a zoo network takes, in a process of its own (the kernel's peak is per process). The network is
/// built (eager: the zoo network, eval, no_grad; fp32/bf16: its inference form, the eager network then disposed), one
/// warm-up prediction at 64x128 lets libtorch load its kernels, the kernel's peak-RSS counter is reset
/// (<c>/proc/self/clear_refs</c>), one prediction at the size runs, and <c>VmHWM</c> is read. Prints one JSON line:
/// the resident MB before the prediction, the peak MB during it, and their difference (the prediction's own memory:
/// activations, workspaces, logits).
/// </summary>
public static class PredictionMemory
{
    public static int Run(string[] args)
    {
        string? model = null, form = null;
        int width = 2048, height = 1024, threads = 2;
        for (int k = 0; k < args.Length; k += 2)
        {
            if (k + 1 >= args.Length) { Console.Error.WriteLine($"option {args[k]} needs a value"); return 2; }
            string value = args[k + 1];
            switch (args[k])
            {
                case "--model": model = value; break;
                case "--form": form = value; break;
                case "--size":
                    var parts = value.Split('x');
                    width = int.Parse(parts[0], CultureInfo.InvariantCulture);
                    height = int.Parse(parts[1], CultureInfo.InvariantCulture);
                    break;
                case "--threads": threads = int.Parse(value, CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown option {args[k]}"); return 2;
            }
        }
        if (model is null || form is not ("eager" or "fp32" or "bf16"))
        {
            Console.Error.WriteLine("memory needs --model NAME and --form eager|fp32|bf16");
            return 2;
        }
        set_num_threads(threads);
        manual_seed(0);
        var eager = ModelZoo.Create(model);
        eager.eval();
        SegmentationModel net = eager;
        if (form != "eager")
        {
            net = eager.ForInference(new InferenceOptions { Precision = form == "bf16" ? InferencePrecision.BFloat16 : InferencePrecision.Fp32 });
            eager.Dispose();
        }
        using (net)
        {
            Predict(net, 128, 64);
            double before = StatusMegabytes("VmRSS");
            // "5" resets the peak resident set size (VmHWM) to the current one (Linux 4.0 and later).
            File.WriteAllText("/proc/self/clear_refs", "5");
            Predict(net, width, height);
            double peak = StatusMegabytes("VmHWM");
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["model"] = model,
                ["form"] = form,
                ["size"] = $"{width}x{height}",
                ["threads"] = threads,
                ["rss_before_mb"] = Math.Round(before, 1),
                ["peak_rss_mb"] = Math.Round(peak, 1),
                ["prediction_mb"] = Math.Round(peak - before, 1),
            }));
        }
        return 0;
    }

    private static void Predict(SegmentationModel net, int width, int height)
    {
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        using var input = zeros(1, 3, height, width);
        net.call(input);
    }

    /// <summary>A "kB" line of /proc/self/status, in MB.</summary>
    private static double StatusMegabytes(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith(key + ":", StringComparison.Ordinal)) continue;
            var kb = line[(key.Length + 1)..].Trim().Split(' ')[0];
            return long.Parse(kb, CultureInfo.InvariantCulture) / 1024.0;
        }
        throw new InvalidOperationException($"/proc/self/status has no {key} line");
    }
}
