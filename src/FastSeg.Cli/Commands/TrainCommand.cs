using System.CommandLine;
using System.Globalization;
using FastSeg.Cli.Rendering;
using FastSeg.Distillation;
using FastSeg.Models;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using FastSeg.Torch.Distributed;
using FastSeg.Data;
using FastSeg.Training;

using Spectre.Console;
using static FastSeg.Torch.torch;

namespace FastSeg.Cli.Commands;

/// <summary>
/// <c>fastseg train</c>: the <see cref="Trainer"/> driven by a JSON options file (the
/// reference's config keys) and <c>key=value</c> / <c>--key value</c> overrides. <c>--nproc-per-node N</c> starts N
/// local copies of the same command with the torchrun environment (<see cref="LocalLauncher"/>); each copy sees
/// RANK/WORLD_SIZE, joins the default process group and trains its shard, and only rank 0 prints and writes. With
/// torchrun's <c>--nnodes M --node-rank R --master-addr HOST --master-port PORT</c>, run once on each of M machines,
/// the copies of all machines form one run of M·N ranks (ranks R·N + local rank); rank 0 on node 0 hosts the
/// rendezvous, prints and writes.
/// </summary>
internal static class TrainCommand
{
    /// <summary>How this program starts another copy of itself (tests point it at the built fastseg.dll).</summary>
    internal static (string Executable, string[] PrefixArgs)? SelfOverride { get; set; }

    /// <summary>The <c>train</c> command.</summary>
    /// <param name="stdout">Where output goes.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <param name="commandLine">The whole command line (re-used, minus --nproc-per-node, for the launched ranks).</param>
    public static Command BuildTrain(TextWriter stdout, TextWriter stderr, IReadOnlyList<string> commandLine)
    {
        var config = Options.Text("--config", "JSON file of training options (reference config keys, e.g. {\"model\": \"fastscnn\"})", "FILE");
        var nproc = Options.Int("--nproc-per-node", 1, "local processes for data-parallel training (torchrun's --nproc_per_node)", min: 1);
        var nnodes = Options.Int("--nnodes", 1, "machines of a data-parallel run; run the same command on each with its --node-rank (torchrun's --nnodes)", min: 1);
        var nodeRank = Options.Int("--node-rank", 0, "this machine's index in [0, nnodes); node 0 hosts the rendezvous (torchrun's --node-rank)", min: 0);
        var masterAddr = Options.Text("--master-addr", "address of node 0, which every node can reach (default 127.0.0.1; torchrun's --master-addr)", "HOST");
        var masterPort = Options.Int("--master-port", 0, "port of the rendezvous on node 0, the same on every node (needed with --nnodes > 1; torchrun's --master-port)", min: 0);
        var distTimeout = Options.Double("--dist-timeout", 1800, "seconds the rendezvous and every collective may wait for the other ranks before failing", min: 1);
        var every = Options.Int("--print-every", 10, "without a terminal: print one progress line every N iterations", min: 1);
        var listOptions = Options.Flag("--list-options", "print every training option with its default and meaning, and exit");
        var listJson = Options.Flag("--json", "with --list-options: the defaults as a JSON options file (the layout of config.json)");
        var command = new Command("train", "train a network. Options come from --config, then from overrides after it: key=value or " +
                                           "--key value with the reference's keys (e.g. model=fastscnn total_epoch=20 --base_lr 0.02); see --list-options")
        {
            config, nproc, nnodes, nodeRank, masterAddr, masterPort, distTimeout, every, listOptions, listJson,
        };
        // Overrides look like options (--base_lr 0.02): hand every token the parser does not know to the options.
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse =>
        {
            if (parse.GetValue(listOptions)) return ListOptions(stdout, parse.GetValue(listJson));
            if (parse.GetValue(listJson)) throw new UsageException("--json goes with --list-options");
            var tokens = parse.UnmatchedTokens.ToArray();
            var launch = new NodeLaunch(parse.GetValue(nproc), parse.GetValue(nnodes), parse.GetValue(nodeRank),
                parse.GetValue(masterAddr) ?? "127.0.0.1", parse.GetValue(masterPort), TimeSpan.FromSeconds(parse.GetValue(distTimeout)));
            return Train(parse.GetValue(config), tokens, launch, parse.GetValue(every), commandLine, stdout, stderr);
        });
        return command;
    }

    /// <summary>The options: defaults, then the JSON file, then the overrides in order.</summary>
    internal static TrainerOptions LoadOptions(string? configPath, IReadOnlyList<string> overrides)
    {
        TrainerOptions options;
        if (configPath is null) options = new TrainerOptions();
        else
        {
            if (!File.Exists(configPath)) throw new FileNotFoundException($"options file '{configPath}' does not exist", configPath);
            options = TrainerOptions.LoadJson(configPath);
        }
        return options.WithOverrides(overrides);
    }

    // One option a line: key, default (as an override writes it) and what it does; --json gives the defaults as an
    // options file instead.
    private static int ListOptions(TextWriter stdout, bool json)
    {
        if (json)
        {
            stdout.WriteLine(new TrainerOptions().ToJson());
            return 0;
        }
        var options = TrainerOptions.Describe();
        int keyWidth = Math.Max("option".Length, options.Max(o => o.Key.Length));
        int defaultWidth = Math.Max("default".Length, options.Max(o => o.Default.Length));
        stdout.WriteLine($"{"option".PadRight(keyWidth)}  {"default".PadRight(defaultWidth)}  meaning");
        foreach (var o in options)
            stdout.WriteLine($"{o.Key.PadRight(keyWidth)}  {o.Default.PadRight(defaultWidth)}  {o.Help}");
        stdout.WriteLine("set with key=value or --key value after --config FILE; lists as 1,0.4; null clears an option");
        return 0;
    }

    /// <summary>The launcher's flags: processes on this machine, machines, this machine's index, rendezvous address and timeout.</summary>
    private sealed record NodeLaunch(int NprocPerNode, int NNodes, int NodeRank, string MasterAddr, int MasterPort, TimeSpan Timeout);

    private static int Train(string? configPath, string[] overrides, NodeLaunch launch, int every, IReadOnlyList<string> commandLine,
        TextWriter stdout, TextWriter stderr)
    {
        var options = LoadOptions(configPath, overrides);
        options.Validate();
        if (launch.NodeRank >= launch.NNodes)
            throw new UsageException($"--node-rank {launch.NodeRank} must be below --nnodes {launch.NNodes}");
        if (launch.NNodes > 1 && launch.MasterPort == 0)
            throw new UsageException("--nnodes > 1 needs --master-port (the same port on every node)");
        if (launch.MasterPort > 65535) throw new UsageException($"--master-port {launch.MasterPort} is not a port (1 to 65535)");
        if ((launch.NprocPerNode > 1 || launch.NNodes > 1) && !TrainerDistributed.IsLaunched())
            return Launch(launch, commandLine, stdout, stderr);

        // Launched by --nproc-per-node / --nnodes (or torchrun): join the process group the environment describes.
        using var run = TrainerDistributed.FromEnvironment(timeout: launch.Timeout);
        {
            IGradientSync? sync = run.IsDistributed ? run.Sync : null;
            bool main = run.IsMain;
            PrefetchWeights(options, main ? stderr : null);
            var console = ConsoleRendering.For(main ? stdout : TextWriter.Null);
            var renderer = new TrainingProgressRenderer(console, every);
            using var teacher = options.KdTraining ? TeacherFactory.Create(options) : null;
            var hooks = teacher is null ? null : new ITrainingLossHook[]
            {
                new DistillationHook(teacher, TeacherFactory.CreateLoss(options)),
            };
            using var trainer = new Trainer(options, hooks: hooks, sync: sync, progress: main ? renderer : null);
            if (main)
                console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{trainer.Model.Info?.Name ?? options.Model}: {trainer.TrainSet.Count} training and {trainer.ValSet.Count} validation images, " +
                    $"{trainer.IterationsPerEpoch} iterations per epoch{(sync is null ? "" : $" per process ({sync.WorldSize} processes)")}, {trainer.TotalIterations} in all, " +
                    $"starting at epoch {trainer.StartEpoch + 1}"));
            var result = renderer.Run(trainer.TotalIterations, () => trainer.Run());
            if (!main) return 0;
            if (result.LastReport is { } report)
            {
                console.Write(ConsoleRendering.IoUTable(report));
                console.WriteLine("validation " + ConsoleRendering.Summary(report));
            }
            else console.WriteLine("no validation ran (val_interval / begin_val_epoch)");
            console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"best mIoU {100 * result.BestScore:F2}%; loss {result.FirstLoss:F4} (first epoch) -> {result.LastLoss:F4} (last epoch); " +
                $"{result.Iterations} iterations in {result.Elapsed.TotalSeconds:F1} s ({result.ImagesPerSecond:F1} training images/s)"));
            if (options.SaveCheckpoints) console.WriteLine($"checkpoints: {Path.GetFullPath(options.SaveDir)}");
            return 0;
        }
    }

    // Published weights (weights=TAG, encoder_weights=imagenet) are fetched here, with progress on the error stream, so
    // that the trainer finds them in the cache; other ranks wait for rank 0's download through the cache's lock.
    private static void PrefetchWeights(TrainerOptions options, TextWriter? progressOut)
    {
        if (options.Model is null || (options.Weights is null && options.EncoderWeights is null)) return;
        if (options.Weights is { } w && PretrainedWeights.LooksLikePath(w)) return;
        string name = ModelZoo.ResolveName(options.Model, options.Decoder);
        var downloader = WeightsDownloader.FromEnvironment();
        var progress = progressOut is null ? null : new DownloadProgressWriter(progressOut);
        try
        {
            if (options.Weights is { } tag)
            {
                PretrainedWeights.ResolvePath(name, options.Encoder, tag, downloader, progress);
                return;
            }
            string? encoder = options.Encoder?.ToLowerInvariant() ?? ModelZoo.Describe(name).DefaultEncoder;
            var entry = PretrainedWeights.Encoders.FirstOrDefault(e => e.Encoder == encoder
                                                                       && string.Equals(e.Tag, options.EncoderWeights, StringComparison.OrdinalIgnoreCase));
            if (entry is not null) PretrainedWeights.Fetch(entry, downloader, progress);
        }
        catch (ArgumentException e) when (e is not TrainerOptionException)
        {
            throw new TrainerOptionException(options.Weights is null ? "encoder_weights" : "weights", e.Message);
        }
    }

    /// <summary>Starts this machine's copies of this very command line with the torchrun environment.</summary>
    private static int Launch(NodeLaunch launch, IReadOnlyList<string> commandLine, TextWriter stdout, TextWriter stderr)
    {
        var (executable, prefix) = SelfOverride ?? Self();
        var args = prefix.Concat(WithoutLauncherFlags(commandLine)).ToList();
        var result = LocalLauncher.Run(launch.NprocPerNode, executable, args, options: new LaunchOptions
        {
            Output = stdout, PrefixOutput = false, NNodes = launch.NNodes, NodeRank = launch.NodeRank,
            MasterAddr = launch.MasterAddr, MasterPort = launch.MasterPort == 0 ? null : launch.MasterPort,
        });
        if (result.Success) return 0;
        // The failed rank's own error line (e.g. the rendezvous naming the ranks that never came) says why.
        const string Own = "fastseg train: ";
        var cause = result.FailedRankOutput.LastOrDefault(l => l.StartsWith(Own, StringComparison.Ordinal));
        stderr.WriteLine($"fastseg train: {result.Message}{(cause is null ? "" : ": " + cause[Own.Length..])}");
        return 1;
    }

    // The launched copies get the command line without the launcher's own flags (they read the environment instead);
    // --dist-timeout stays, it is theirs.
    private static readonly string[] LauncherFlags = ["--nproc-per-node", "--nnodes", "--node-rank", "--master-addr", "--master-port"];

    private static IEnumerable<string> WithoutLauncherFlags(IEnumerable<string> args)
    {
        bool skipValue = false;
        foreach (var a in args)
        {
            if (skipValue) { skipValue = false; continue; }
            if (LauncherFlags.Contains(a)) { skipValue = true; continue; }
            if (LauncherFlags.Any(f => a.StartsWith(f + "=", StringComparison.Ordinal))) continue;
            yield return a;
        }
    }

    private static (string, string[]) Self()
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this program's path to start the other ranks");
        // `dotnet fastseg.dll ...` runs the host: start it again with the same dll.
        if (Path.GetFileNameWithoutExtension(process) == "dotnet")
            return (process, [typeof(TrainCommand).Assembly.Location]);
        return (process, []);
    }
}
