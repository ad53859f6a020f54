using FastSeg.Cli.Commands;

namespace FastSeg.Cli;

/// <summary>Dispatches <c>fastseg &lt;group&gt; &lt;command&gt; ...</c>; returns the process exit code.</summary>
internal static class CommandLine
{
    internal const string Usage = """
        usage: fastseg <command> [options]

        commands:
          models list [--json]                       the networks of the zoo, with the reference's figures
          models describe NAME [--encoder E] [--classes N] [--aux] [--detail] [--json]
                                                     parameters, GFLOPs at 1024x512, state dict and output shape
          dataset make-synthetic DIR [--size WxH] [--train N] [--val N] [--test N] [--seed S]
                                                     street scenes with real label ids in the Cityscapes layout
          bench (--model NAME [--encoder E] | --all) [--size WxH] [--batch N] [--dtype fp32|bf16|bf16-autocast] [--channels-last]
                [--threads N] [--min-seconds S] [--warmup N] [--json]
                                                     inference latency and FPS (default 1024x512, batch 1, fp32, 3 s)
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            return args switch
            {
                ["models", "list", .. var rest] => ModelsCommands.List(Arguments.Parse(rest, flags: new[] { "--json" }), stdout),
                ["models", "describe", .. var rest] => ModelsCommands.Describe(
                    Arguments.Parse(rest, flags: new[] { "--json", "--aux", "--detail" }, options: new[] { "--encoder", "--classes" }), stdout),
                ["dataset", "make-synthetic", .. var rest] => DatasetCommands.MakeSynthetic(
                    Arguments.Parse(rest, options: new[] { "--size", "--train", "--val", "--test", "--seed" }), stdout),
                ["bench", .. var rest] => BenchCommand.Run(Arguments.Parse(rest, BenchCommand.FlagNames, BenchCommand.OptionNames), stdout, stderr),
                [] or ["--help"] or ["-h"] or ["help"] => Help(stdout),
                _ => throw new UsageException($"unknown command '{string.Join(' ', args)}'"),
            };
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"fastseg: {e.Message}");
            stderr.WriteLine(Usage);
            return 2;
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine($"fastseg: {e.Message}");
            return 1;
        }
        catch (FastSeg.Torch.TorchException e)
        {
            stderr.WriteLine($"fastseg: {FirstLine(e.Message)}");
            return 1;
        }
    }

    /// <summary>The first line of a libtorch error (the rest is its C++ backtrace).</summary>
    internal static string FirstLine(string message)
    {
        int end = message.IndexOf('\n');
        return (end < 0 ? message : message[..end]).TrimEnd();
    }

    private static int Help(TextWriter stdout)
    {
        stdout.WriteLine(Usage);
        return 0;
    }
}

/// <summary>A command line that does not fit the usage.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Parsed options: positional values, flags, and options with a value.</summary>
internal sealed class Arguments
{
    public List<string> Positional { get; } = new();
    public HashSet<string> Flags { get; } = new();
    public Dictionary<string, string> Options { get; } = new();

    public static Arguments Parse(IReadOnlyList<string> args, string[]? flags = null, string[]? options = null)
    {
        flags ??= Array.Empty<string>();
        options ??= Array.Empty<string>();
        var result = new Arguments();
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (flags.Contains(a)) result.Flags.Add(a);
            else if (options.Contains(a))
            {
                if (i + 1 >= args.Count) throw new UsageException($"{a} needs a value");
                result.Options[a] = args[++i];
            }
            else if (a.StartsWith("--", StringComparison.Ordinal)) throw new UsageException($"unknown option {a}");
            else result.Positional.Add(a);
        }
        return result;
    }

    public int GetInt(string option, int fallback)
    {
        if (!Options.TryGetValue(option, out var v)) return fallback;
        return int.TryParse(v, out var n) ? n : throw new UsageException($"{option} needs an integer, got '{v}'");
    }
}
