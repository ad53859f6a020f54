using System.Diagnostics;
using System.Globalization;
using FastSeg.Models.Zoo;
using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Benchmarks;

/// <summary>
/// Training throughput of a zoo network (<c>-- train --model fastscnn [--size 1024x512] [--batch 4]
/// [--dtype fp32|bf16-autocast] [--warmup 2] [--steps 5] [--json]</c>), the same measurement as
/// tools/bench_torch_training.py in PyTorch: one step = zero_grad (set to none), forward in training mode, pixel-wise
/// cross-entropy (mean, ignore 255), backward, SGD step (lr 0.01, momentum 0.9, weight decay 1e-4) on one fixed batch of
/// randn images and uniform random labels. Warm-up steps, then each timed step alone: wall time and the process's CPU
/// time (CLOCK_PROCESS_CPUTIME_ID, every thread). images/s = batch / median wall seconds. Threads: FASTSEG_BENCH_THREADS.
/// </summary>
internal static class TrainingThroughput
{
    public static int Run(string[] args)
    {
        string model = "fastscnn", size = "1024x512", dtype = "fp32";
        int batch = 4, warmup = 2, steps = 5;
        bool json = false;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--model": model = Next(); break;
                case "--size": size = Next(); break;
                case "--dtype": dtype = Next(); break;
                case "--batch": batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--steps": steps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--json": json = true; break;
                default: throw new ArgumentException($"unknown argument '{args[i]}' (--model, --size WxH, --batch, --dtype fp32|bf16-autocast, --warmup, --steps, --json)");
            }
        }
        if (dtype is not ("fp32" or "bf16-autocast")) throw new ArgumentException($"--dtype must be fp32 or bf16-autocast, got '{dtype}'");
        var parts = size.ToLowerInvariant().Split('x');
        if (parts.Length != 2) throw new ArgumentException($"--size must be WxH, got '{size}'");
        int width = int.Parse(parts[0], CultureInfo.InvariantCulture), height = int.Parse(parts[1], CultureInfo.InvariantCulture);

        BenchSettings.Apply();
        manual_seed(0);
        using var net = ModelZoo.Create(model, numClasses: 19);
        manual_seed(0);
        using var x = randn(batch, 3, height, width);
        using var y = randint(0, 19, new long[] { batch, height, width });
        net.train();
        using var optimizer = optim.SGD(net.parameters(), 0.01, momentum: 0.9, weight_decay: 1e-4);
        bool autocastOn = dtype == "bf16-autocast";

        double Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad(set_to_none: true);
            Tensor loss;
            using (autocast(DeviceType.CPU, ScalarType.BFloat16, enabled: autocastOn))
            {
                var output = net.call(x);
                loss = nn.functional.cross_entropy(output, y, null, 255);
            }
            loss.backward();
            optimizer.step();
            return loss.item<float>();
        }

        for (int i = 0; i < warmup; i++) Step();
        var wall = new double[steps];
        var cpu = new double[steps];
        var losses = new double[steps];
        for (int i = 0; i < steps; i++)
        {
            long c0 = CpuTimeHarness.ProcessCpuNanoseconds();
            long t0 = Stopwatch.GetTimestamp();
            losses[i] = Step();
            long t1 = Stopwatch.GetTimestamp();
            long c1 = CpuTimeHarness.ProcessCpuNanoseconds();
            wall[i] = (t1 - t0) / (double)Stopwatch.Frequency;
            cpu[i] = (c1 - c0) * 1e-9;
        }
        double medWall = Median(wall), medCpu = Median(cpu), best = wall.Min();
        string load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        var c = CultureInfo.InvariantCulture;
        if (json)
            Console.WriteLine(string.Create(c, $"{{\"engine\": \"fastseg\", \"model\": \"{model}\", \"size\": \"{width}x{height}\", \"batch\": {batch}, " +
                $"\"dtype\": \"{dtype}\", \"threads\": {get_num_threads()}, \"steps\": {steps}, \"warmup\": {warmup}, " +
                $"\"median_step_s\": {medWall:F4}, \"best_step_s\": {best:F4}, \"median_cpu_s\": {medCpu:F4}, " +
                $"\"images_per_s\": {batch / medWall:F4}, \"images_per_cpu_s\": {batch / medCpu:F4}, " +
                $"\"loss_first\": {losses[0]:F4}, \"loss_last\": {losses[^1]:F4}, \"load\": \"{load}\"}}"));
        else
            Console.WriteLine(string.Create(c, $"{model} {dtype} {width}x{height} batch {batch}, {get_num_threads()} threads: {batch / medWall:F3} img/s " +
                $"(median step {medWall:F3} s, best {best:F3} s, CPU {medCpu:F3} s/step), loss {losses[0]:F4} -> {losses[^1]:F4}, load {load}"));
        return 0;
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }
}
