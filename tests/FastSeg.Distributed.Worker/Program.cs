// One rank of a distributed test. The scenario is the first argument; rendezvous settings come from the environment
// that LocalLauncher (or the test itself) sets, as torchrun would. Exit codes: 0 success, 2 a wrong value, 3 the
// deliberate early exit of the "die" scenarios, 4 a detected peer failure, 1 anything unexpected.
using System.Diagnostics;
using System.Globalization;
using FastSeg.Torch;
using static FastSeg.Torch.torch;
using dist = FastSeg.Torch.torch.distributed;

torch.set_num_threads(1);
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: worker <collectives|ddp|single|ddp-syncbn|single-trainbn|syncbn|steps|die|hang|ddp-die|env|fail-env|trainer> [args]");
    return 1;
}
var timeout = TimeSpan.FromMilliseconds(double.Parse(Environment.GetEnvironmentVariable("FS_TEST_TIMEOUT_MS") ?? "30000", CultureInfo.InvariantCulture));
try
{
    return args[0] switch
    {
        "collectives" => Scenarios.Collectives(timeout),
        "ddp" => Scenarios.Train(args[1], distributed: true, timeout),
        "single" => Scenarios.Train(args[1], distributed: false, timeout),
        "ddp-syncbn" => Scenarios.Train(args[1], distributed: true, timeout, trainModeBatchNorm: true),
        "single-trainbn" => Scenarios.Train(args[1], distributed: false, timeout, trainModeBatchNorm: true),
        "syncbn" => Scenarios.SyncBatchNormAgainstOneProcess(timeout),
        "steps" => Scenarios.StepsUntilAPeerFails(timeout),
        "die" => Scenarios.PeerFailure(timeout, hang: false),
        "hang" => Scenarios.PeerFailure(timeout, hang: true),
        "ddp-die" => Scenarios.DdpPeerFailure(timeout),
        "env" => Scenarios.Env(failRank: -1),
        "fail-env" => Scenarios.Env(failRank: 1),
        "trainer" => TrainerScenario.Run(args[1], args[2], args[3..], timeout),
        _ => throw new ArgumentException($"unknown scenario '{args[0]}'"),
    };
}
catch (Exception e)
{
    Console.Error.WriteLine($"UNEXPECTED {e.GetType().Name}: {e.Message}");
    return 1;
}

internal static class Scenarios
{
    private static string Fmt(Tensor t) =>
        string.Join(",", t.to_type(ScalarType.Float64).flatten().ToArray<double>().Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public static int Collectives(TimeSpan timeout)
    {
        var pg = dist.init_process_group("gloo", timeout: timeout);
        int rank = dist.get_rank(), world = dist.get_world_size();
        Console.WriteLine($"init rank={rank} world={world} backend={dist.get_backend()} initialized={dist.is_initialized()}");

        using var sum = tensor(new float[] { rank + 1, 10 * (rank + 1) });
        dist.all_reduce(sum);
        Console.WriteLine($"all_reduce_sum={Fmt(sum)}");

        using var avg = tensor(new double[] { rank, 2.0 * rank + 1 });
        dist.all_reduce(avg, dist.ReduceOp.AVG);
        Console.WriteLine($"all_reduce_avg={Fmt(avg)}");

        using var max = tensor(new long[] { rank, -rank });
        dist.all_reduce(max, dist.ReduceOp.MAX);
        Console.WriteLine($"all_reduce_max={Fmt(max)}");

        // Several tensors of two dtypes and a non-contiguous view in one call.
        using var a = full(new long[] { 2, 3 }, rank + 1.0);
        using var b = tensor(new int[] { rank, 1 });
        using var c = arange(6, ScalarType.Float32).reshape(2, 3).t().mul(rank + 1);
        dist.all_reduce_coalesced(new[] { a, b, c });
        Console.WriteLine($"coalesced_a={Fmt(a)}");
        Console.WriteLine($"coalesced_b={Fmt(b)}");
        Console.WriteLine($"coalesced_c={Fmt(c)}");

        using var bc = rank == 1 ? tensor(new float[] { 7, 8, 9 }) : zeros(3);
        dist.broadcast(bc, src: 1);
        Console.WriteLine($"broadcast_from1={Fmt(bc)}");

        using var mine = tensor(new float[] { rank, 100 + rank });
        var gathered = dist.all_gather(mine);
        Console.WriteLine($"all_gather={string.Join("|", gathered.Select(Fmt))}");
        foreach (var g in gathered) g.Dispose();

        // A parameter that rank 1 does not use gets a zero gradient there, so the average is half of rank 0's.
        manual_seed(5);
        using var model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1));
        var sync = new FastSeg.Torch.Distributed.DdpGradientSync(model); // equal parameters from rank 0
        var first = (nn.Module<Tensor, Tensor>)model.get_submodule("0")!;
        using (var scope = NewDisposeScope())
        {
            var input = ones(1, 3).mul(rank + 1);
            var loss = rank == 0 ? model.forward(input).sum() : first.forward(input).sum();
            loss.backward();
        }
        var last = (nn.Module<Tensor, Tensor>)model.get_submodule("1")!;
        using (var g = last.parameters().First().grad)
            Console.WriteLine($"unused_before={(g is null ? "none" : Fmt(g))}");
        sync.AllReduceGradients();
        using (var g = last.parameters().First().grad)
            Console.WriteLine($"unused_after={Fmt(g!)}");

        dist.barrier();
        Console.WriteLine("barrier passed");
        dist.destroy_process_group();
        Console.WriteLine($"destroyed initialized={dist.is_initialized()} (pg disposed={pg.IsDisposed})");
        return 0;
    }

    // Conv -> BatchNorm (eval mode: fixed running statistics, which DDP broadcasts from rank 0; or train mode, converted
    // to SyncBatchNorm on several ranks) -> ReLU -> 1x1 conv.
    private static nn.Module<Tensor, Tensor> MakeModel(int seed, bool trainModeBatchNorm = false)
    {
        manual_seed(seed);
        var model = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding: 1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, 4, 1));
        using (no_grad())
        {
            var bn = (FastSeg.Torch.Modules.BatchNorm2d)model.get_submodule("1")!;
            bn.running_mean!.copy_(randn(8).mul(0.1));
            bn.running_var!.copy_(rand(8).add(0.5));
        }
        model.train(trainModeBatchNorm);
        return model;
    }

    public static int Train(string outDir, bool distributed, TimeSpan timeout, bool trainModeBatchNorm = false)
    {
        const int Steps = 5, Global = 4;
        int rank = 0, world = 1;
        if (distributed)
        {
            dist.init_process_group("gloo", timeout: timeout);
            rank = dist.get_rank();
            world = dist.get_world_size();
        }
        // Every rank starts from a different initialisation: the DDP constructor must make them equal (rank 0's).
        var model = MakeModel(seed: 100 + rank, trainModeBatchNorm);
        if (distributed && trainModeBatchNorm) nn.SyncBatchNorm.convert_sync_batchnorm(model);
        Console.WriteLine($"joined rank={rank} world={world} node={Environment.GetEnvironmentVariable("GROUP_RANK")}");
        nn.Module<Tensor, Tensor> net = distributed ? new nn.parallel.DistributedDataParallel(model) : model;

        manual_seed(1234);
        using var allInputs = randn(Global, 3, 8, 8);
        using var allTargets = randint(0, 4, new long[] { Global, 8, 8 });
        int share = Global / world;
        using var inputs = allInputs.narrow(0, rank * share, share);
        using var targets = allTargets.narrow(0, rank * share, share);

        var optimizer = optim.SGD(net.parameters(), lr: 0.1, momentum: 0.9, weight_decay: 1e-3);
        for (int step = 0; step < Steps; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(net.forward(inputs), targets);
            loss.backward(); // with DDP the gradients come back averaged over the ranks
            optimizer.step();
            Console.WriteLine($"step {step} loss {loss.item<double>().ToString("R", CultureInfo.InvariantCulture)}");
        }
        string file = Path.Combine(outDir, distributed ? $"ddp-rank{rank}.pt" : "single.pt");
        torch.save(net.state_dict(), file); // the wrapper's own state dict: it must carry the plain module keys
        Console.WriteLine($"saved {file}");
        if (distributed) dist.destroy_process_group();
        return 0;
    }

    // SyncBatchNorm on this rank's share of a batch of 4 (2+2, then 1+3: unequal shares), against plain BatchNorm on
    // the whole batch computed here alone, as one process would: outputs, running statistics after two steps, and the
    // parameter gradients summed over the ranks (the gradient of the whole batch's loss). A conv before the batch norm
    // makes the input gradient, the part that crosses the ranks in backward, reach parameters too.
    public static int SyncBatchNormAgainstOneProcess(TimeSpan timeout)
    {
        dist.init_process_group("gloo", timeout: timeout);
        int rank = dist.get_rank(), world = dist.get_world_size();
        foreach (var split in new[] { new[] { 2, 2 }, new[] { 1, 3 } })
        {
            using var scope = NewDisposeScope();
            nn.Module<Tensor, Tensor> Make()
            {
                manual_seed(9);
                var m = nn.Sequential(nn.Conv2d(3, 5, 3, padding: 1), nn.BatchNorm2d(5, momentum: 0.1));
                using (no_grad())
                {
                    var bn = (FastSeg.Torch.Modules.BatchNorm2d)m.get_submodule("1")!;
                    bn.weight!.copy_(rand(5).add(0.5));
                    bn.bias!.copy_(randn(5));
                }
                m.train();
                return m;
            }
            var reference = Make();
            var synced = nn.SyncBatchNorm.convert_sync_batchnorm(Make());
            var unsynced = Make();
            int start = split.Take(rank).Sum(), share = split[rank];
            double outDiff = 0, unsyncedDiff = 0;
            manual_seed(1234);
            for (int step = 0; step < 2; step++)
            {
                // Channel means far from 0 (3 + 2·N(0,1)): the variance must not come from E[x²] - E[x]².
                var inputs = randn(4, 3, 5, 4).mul(2).add(3);
                var probe = randn(4, 5, 5, 4).mul(0.1);
                var whole = reference.forward(inputs);
                (whole * probe).sum().backward();
                var mine = synced.forward(inputs.narrow(0, start, share));
                (mine * probe.narrow(0, start, share)).sum().backward();
                var alone = unsynced.forward(inputs.narrow(0, start, share));
                var expected = whole.narrow(0, start, share);
                outDiff = Math.Max(outDiff, (mine - expected).abs().max().item<double>());
                unsyncedDiff = Math.Max(unsyncedDiff, (alone - expected).abs().max().item<double>());
            }
            var grads = synced.parameters().Select(p => p.grad!).ToList();
            dist.all_reduce_coalesced(grads);
            double gradDiff = synced.parameters().Zip(reference.parameters(), (a, b) => (a.grad! - b.grad!).abs().max().item<double>()).Max();
            double gradScale = reference.parameters().Max(p => p.grad!.abs().max().item<double>());
            var bnRef = (FastSeg.Torch.Modules.BatchNorm2d)reference.get_submodule("1")!;
            var bnSync = (FastSeg.Torch.Modules.BatchNorm2d)synced.get_submodule("1")!;
            double statDiff = Math.Max((bnSync.running_mean! - bnRef.running_mean!).abs().max().item<double>(),
                (bnSync.running_var! - bnRef.running_var!).abs().max().item<double>());
            string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
            Console.WriteLine($"SYNCBN split={string.Join('+', split)} out={R(outDiff)} grad={R(gradDiff)} gradscale={R(gradScale)} stats={R(statDiff)} " +
                $"unsynced={R(unsyncedDiff)} tracked={bnSync.num_batches_tracked!.item<long>()} running={Fmt(bnSync.running_mean!)};{Fmt(bnSync.running_var!)}");
            Console.WriteLine($"KEYS {string.Join(',', synced.state_dict().Keys)} | {string.Join(',', reference.state_dict().Keys)}");
        }
        dist.destroy_process_group();
        return 0;
    }

    // Trains the small network in a loop, printing "step k" after each step, until a collective fails (exit 4) or
    // 100 000 steps pass: the test kills the other rank's node once both printed a step.
    public static int StepsUntilAPeerFails(TimeSpan timeout)
    {
        dist.init_process_group("gloo", timeout: timeout);
        int rank = dist.get_rank();
        var net = new nn.parallel.DistributedDataParallel(MakeModel(seed: 7));
        using var x = randn(2, 3, 8, 8);
        for (int step = 0; step < 100_000; step++)
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            try
            {
                net.forward(x).square().mean().backward();
            }
            catch (TorchException e)
            {
                Console.WriteLine($"DETECTED at {NowMs} after {clock.ElapsedMilliseconds} ms: {e.Message}");
                return 4;
            }
            Console.WriteLine($"step {step} rank {rank}");
        }
        return 0;
    }

    public static int PeerFailure(TimeSpan timeout, bool hang)
    {
        dist.init_process_group("gloo", timeout: timeout);
        int rank = dist.get_rank();
        using var t = ones(4);
        dist.all_reduce(t);
        Console.WriteLine($"first all_reduce ok: {Fmt(t)}");
        if (rank == 1)
        {
            if (hang)
            {
                Console.WriteLine($"HANGING at {NowMs}");
                Thread.Sleep(TimeSpan.FromSeconds(120));
                return 0;
            }
            Console.WriteLine($"EXITING at {NowMs}");
            Console.Out.Flush();
            Environment.Exit(3);
        }
        var clock = Stopwatch.StartNew();
        try
        {
            for (int i = 0; i < 1_000_000; i++) dist.all_reduce(t);
            Console.WriteLine("no failure detected");
            return 0;
        }
        catch (TorchException e)
        {
            Console.WriteLine($"DETECTED at {NowMs} after {clock.ElapsedMilliseconds} ms: {e.Message}");
            return 4;
        }
    }

    // Rank 1 leaves in the middle of DDP training: rank 0's loss.backward() (where the gradient all-reduce runs)
    // must throw with Gloo's message instead of hanging.
    public static int DdpPeerFailure(TimeSpan timeout)
    {
        dist.init_process_group("gloo", timeout: timeout);
        int rank = dist.get_rank();
        var net = new nn.parallel.DistributedDataParallel(MakeModel(seed: 7));
        using var x = randn(2, 3, 8, 8);
        for (int step = 0; ; step++)
        {
            using var scope = NewDisposeScope();
            var loss = net.forward(x).square().mean();
            if (rank == 1 && step == 2)
            {
                Console.WriteLine($"EXITING at {NowMs}");
                Console.Out.Flush();
                Environment.Exit(3);
            }
            var clock = Stopwatch.StartNew();
            try
            {
                loss.backward();
            }
            catch (TorchException e)
            {
                Console.WriteLine($"DETECTED at {NowMs} after {clock.ElapsedMilliseconds} ms: {e.Message}");
                return 4;
            }
            if (step > 1000) return 0;
        }
    }

    public static int Env(int failRank)
    {
        string[] names = { "MASTER_ADDR", "MASTER_PORT", "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK",
            "TORCHELASTIC_RUN_ID", "OMP_NUM_THREADS", "FS_TEST_EXTRA" };
        Console.WriteLine("ENV " + string.Join(" ", names.Select(n => $"{n}={Environment.GetEnvironmentVariable(n)}")));
        Console.Error.WriteLine("a line on stderr");
        int rank = int.Parse(Environment.GetEnvironmentVariable("RANK")!, CultureInfo.InvariantCulture);
        if (failRank < 0) return 0;
        if (rank == failRank)
        {
            Thread.Sleep(300);
            Console.WriteLine("failing on purpose");
            return 7;
        }
        Thread.Sleep(TimeSpan.FromSeconds(60)); // must be stopped by the launcher long before this
        return 0;
    }
}
