using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using FastSeg.Cli.Commands;

namespace FastSeg.Cli;

/// <summary>
/// The <c>fastseg</c> command tree (System.CommandLine) and its error discipline: a command line that does not parse
/// exits with 2 and one line per problem; a failure while running (unknown network, unreadable file, a shape libtorch
/// refuses) exits with 1 and one line naming what is at fault — never a stack trace.
/// </summary>
internal static class CommandLine
{
    /// <summary>Parses <paramref name="args"/>, runs the command and returns the process exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = BuildRoot(args, stdout, stderr);
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            stderr.WriteLine($"{Prefix(parse)}: {ParseProblems(parse)} (run '{CommandPath(parse)} --help' for usage)");
            return 2;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"{Prefix(parse)}: {e.Message} (run '{CommandPath(parse)} --help' for usage)");
            return 2;
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException
                                      or FormatException or InvalidDataException or FastSeg.Torch.TorchException
                                      or FastSeg.Torch.StateDictMismatchException or FastSeg.Data.ImageException
                                      or FastSeg.Data.InvalidSampleException)
        {
            stderr.WriteLine($"{Prefix(parse)}: {Describe(e)}");
            return 1;
        }
    }

    /// <summary>"fastseg models describe": what every error line of a command starts with.</summary>
    internal static string Prefix(ParseResult parse) => CommandPath(parse);

    /// <summary>
    /// The message of an exception as one line for the user: its first line (a libtorch error carries its C++
    /// backtrace after it), without .NET's " (Parameter 'name')" suffix, which names a C# parameter, not an option.
    /// </summary>
    internal static string Describe(Exception e)
    {
        var message = FirstLine(e.Message);
        if (e is ArgumentException { ParamName: { } param })
        {
            var suffix = $" (Parameter '{param}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal)) message = message[..^suffix.Length];
        }
        return message;
    }

    /// <summary>
    /// Every parse problem on one line: the tokens nothing recognised together (an unknown option and the value after
    /// it are one problem), then the others, separated by "; ".
    /// </summary>
    private static string ParseProblems(ParseResult parse)
    {
        var unmatched = parse.UnmatchedTokens;
        var problems = parse.Errors.Select(e => e.Message)
            .Where(m => !unmatched.Any(t => m.StartsWith("Unrecognized command or argument '" + t + "'", StringComparison.Ordinal)))
            .Select(m => m.TrimEnd('.'))
            .ToList();
        if (unmatched.Count > 0)
            problems.Insert(0, $"unknown option or argument '{string.Join(' ', unmatched)}'");
        return string.Join("; ", problems);
    }

    /// <summary>The first line of a message (a libtorch error carries its C++ backtrace after it).</summary>
    internal static string FirstLine(string message)
    {
        int end = message.IndexOf('\n');
        return (end < 0 ? message : message[..end]).TrimEnd();
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var r = parse.CommandResult; r is not null; r = r.Parent as CommandResult) names.Insert(0, r.Command.Name);
        if (names.Count > 0) names[0] = "fastseg";
        return string.Join(' ', names);
    }

    private static RootCommand BuildRoot(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("FastSeg: real-time semantic segmentation networks for .NET on libtorch — train, evaluate, predict, benchmark.");
        root.Subcommands.Add(ModelsCommands.Build(stdout));
        root.Subcommands.Add(DatasetCommands.Build(stdout));
        root.Subcommands.Add(BenchCommand.Build(stdout, stderr));
        root.Subcommands.Add(TrainCommand.BuildTrain(stdout, stderr, args));
        root.Subcommands.Add(ValCommand.Build(stdout, stderr));
        root.Subcommands.Add(PredictCommand.Build(stdout, stderr));
        root.Subcommands.Add(ExportCommand.Build(stdout, stderr));
        // Bare `fastseg` prints the help rather than a "required command" error.
        root.SetAction(parse => root.Parse("--help").Invoke(parse.InvocationConfiguration));
        return root;
    }
}

/// <summary>A command line that does not fit the usage (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Option factories with the CLI's wording of parse errors ("--classes needs an integer, got 'many'").</summary>
internal static class Options
{
    public static Option<int> Int(string name, int defaultValue, string description, int min = int.MinValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => ParseInt(result, name, min) ?? defaultValue,
    };

    public static Option<int?> OptionalInt(string name, string description, int min = int.MinValue) => new(name)
    {
        Description = description,
        CustomParser = result => ParseInt(result, name, min),
    };

    // The option's integer, or null after recording why it is not one (or is below min: then the value is returned
    // with the error, which stops the command before it runs).
    private static int? ParseInt(ArgumentResult result, string name, int min)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
        {
            result.AddError($"{name} needs an integer, got '{text}'");
            return null;
        }
        if (value < min) result.AddError($"{name} must be at least {min}, got {value}");
        return value;
    }

    public static Option<double> Double(string name, double defaultValue, string description, double min = double.NegativeInfinity) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || double.IsNaN(value))
            {
                result.AddError($"{name} needs a number, got '{text}'");
                return defaultValue;
            }
            if (value < min) result.AddError($"{name} must be at least {min.ToString(CultureInfo.InvariantCulture)}, got {text}");
            return value;
        },
    };

    /// <summary>A WIDTHxHEIGHT option (e.g. 1024x512).</summary>
    public static Option<(int Width, int Height)?> Size(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "WxH",
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (TryParseSize(text, out var size)) return size;
            result.AddError($"{name} must be WIDTHxHEIGHT (e.g. 1024x512), got '{text}'");
            return null;
        },
    };

    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    public static Option<string?> Text(string name, string description, string? helpName = null) =>
        new(name) { Description = description, HelpName = helpName };

    /// <summary>A string option restricted to <paramref name="choices"/>, with an error that lists them.</summary>
    public static Option<string> Choice(string name, string defaultValue, string description, params string[] choices) => new(name)
    {
        Description = $"{description} ({string.Join(", ", choices)})", // the help adds "[default: ...]"
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (choices.Contains(text, StringComparer.Ordinal)) return text;
            result.AddError($"{name} must be {string.Join(", ", choices[..^1])} or {choices[^1]}, got '{text}'");
            return defaultValue;
        },
    };

    /// <summary><c>--precision fp32|bf16|auto</c>: the number format of the network's inference form.</summary>
    public static Option<string> Precision(string defaultValue) =>
        Choice("--precision", defaultValue, "the inference form's number format; auto is bf16 on CPUs with native bfloat16 (avx512_bf16, AMX), else fp32",
            "fp32", "bf16", "auto");

    /// <summary>The <see cref="FastSeg.Models.Inference.InferencePrecision"/> a <see cref="Precision"/> value names.</summary>
    public static FastSeg.Models.Inference.InferencePrecision ToPrecision(string value) => value switch
    {
        "fp32" => FastSeg.Models.Inference.InferencePrecision.Fp32,
        "bf16" => FastSeg.Models.Inference.InferencePrecision.BFloat16,
        _ => FastSeg.Models.Inference.InferencePrecision.Auto,
    };

    /// <summary>A comma-separated list of positive numbers (e.g. 0.75,1,1.25).</summary>
    public static Option<double[]?> PositiveNumbers(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "X,Y,...",
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            var values = new List<double>();
            foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
            {
                if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v > 0) || double.IsInfinity(v))
                {
                    result.AddError($"{name} must be positive numbers separated by commas (e.g. 0.75,1,1.25), got '{text}'");
                    return null;
                }
                values.Add(v);
            }
            return values.ToArray();
        },
    };

    public static bool TryParseSize(string text, out (int Width, int Height) size)
    {
        var parts = text.Split('x', 'X');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int w)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h)
            && w > 0 && h > 0)
        {
            size = (w, h);
            return true;
        }
        size = default;
        return false;
    }
}
