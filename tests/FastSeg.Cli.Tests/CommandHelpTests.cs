using System.Text.Json;
using System.Text.RegularExpressions;
using FastSeg.Training;
using Xunit;

namespace FastSeg.Cli.Tests;

/// <summary>What the tool says about itself: <c>--help</c> of every command and <c>train --list-options</c>.</summary>
public class CommandHelpTests
{
    private static (int code, string stdout, string stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CommandLine.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    // The help's option entries: each starts with an indented "-" and runs until the next one (descriptions wrap).
    private static List<string> OptionEntries(string help)
    {
        var entries = new List<string>();
        foreach (var line in help.Split('\n'))
        {
            if (Regex.IsMatch(line, @"^\s{2,}-")) entries.Add(line.Trim());
            else if (entries.Count > 0 && line.StartsWith("  ", StringComparison.Ordinal) && line.Trim().Length > 0) entries[^1] += " " + line.Trim();
            else if (line.Trim().Length == 0 && entries.Count > 0) entries.Add(""); // a blank line ends the entry
        }
        return entries.Where(e => e.Length > 0).ToList();
    }

    [Theory]
    [InlineData("bench")]
    [InlineData("predict")]
    [InlineData("train")]
    [InlineData("val")]
    [InlineData("models", "list")]
    [InlineData("models", "describe")]
    [InlineData("dataset", "make-synthetic")]
    public void HelpStatesEachOptionsDefaultOnce(params string[] command)
    {
        var (code, stdout, stderr) = Run([.. command, "--help"]);
        Assert.True(code == 0, stderr);
        var entries = OptionEntries(stdout);
        Assert.NotEmpty(entries);
        foreach (var entry in entries)
            Assert.True(Regex.Matches(entry, "default", RegexOptions.IgnoreCase).Count <= 1, $"'{string.Join(' ', command)} --help' repeats a default: {entry}");
    }

    [Fact]
    public void BenchHelpGivesTheDtypeChoicesAndItsDefault()
    {
        var (_, stdout, _) = Run("bench", "--help");
        var dtype = Assert.Single(OptionEntries(stdout), e => e.StartsWith("--dtype", StringComparison.Ordinal));
        Assert.Contains("(fp32, bf16, bf16-autocast)", dtype);
        Assert.Contains("[default: fp32]", dtype);
    }

    [Fact]
    public void ListOptionsIsATableOfKeysDefaultsAndMeanings()
    {
        var (code, stdout, stderr) = Run("train", "--list-options");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToList();
        Assert.Matches(@"^option\s+default\s+meaning$", lines[0]);
        foreach (var key in TrainerOptions.Keys)
        {
            var row = Assert.Single(lines, l => l.StartsWith(key + " ", StringComparison.Ordinal));
            var cells = Regex.Split(row, @"\s{2,}");
            Assert.True(cells.Length == 3 && cells[2].Length > 0, $"row of {key} lacks a default or a meaning: '{row}'");
        }
        Assert.Matches(@"^total_epoch\s+200\s+epochs to train$", Assert.Single(lines, l => l.StartsWith("total_epoch ", StringComparison.Ordinal)));
        Assert.Matches(@"^lr_policy\s+cos_warmup\s+learning-rate schedule", Assert.Single(lines, l => l.StartsWith("lr_policy ", StringComparison.Ordinal)));
        Assert.Matches(@"^data_root\s+null\s+dataset folder", Assert.Single(lines, l => l.StartsWith("data_root ", StringComparison.Ordinal)));
        Assert.Matches(@"^randscale\s+0\s+random scale", Assert.Single(lines, l => l.StartsWith("randscale ", StringComparison.Ordinal)));
    }

    [Fact]
    public void ListOptionsJsonIsTheDefaultOptionsFile()
    {
        var (code, stdout, stderr) = Run("train", "--list-options", "--json");
        Assert.True(code == 0, stderr);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(TrainerOptions.Keys, json.EnumerateObject().Select(p => p.Name).ToList());
        Assert.Equal(200, json.GetProperty("total_epoch").GetInt32());
        Assert.Equal(new TrainerOptions().ToJson(), TrainerOptions.FromJson(stdout).ToJson());
    }

    [Fact]
    public void JsonWithoutListOptionsIsAUsageError()
    {
        var (code, _, stderr) = Run("train", "--json");
        Assert.Equal(2, code);
        Assert.Contains("--json goes with --list-options", stderr);
    }
}
