using System.Text.Json;
using FastSeg.Models.Zoo;
using Xunit;

namespace FastSeg.Cli.Tests;

public class ModelsCommandTests
{
    private static (int code, string stdout, string stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CommandLine.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void ListJsonHasEveryRegisteredNetworkWithItsMetadata()
    {
        var (code, stdout, _) = Run("models", "list", "--json");
        Assert.Equal(0, code);
        var items = JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(ModelZoo.Names, items.Select(i => i.GetProperty("name").GetString()!));
        var link = items.Single(i => i.GetProperty("name").GetString() == "linknet");
        Assert.Equal(11_538_969, link.GetProperty("reference_params").GetInt64());
        Assert.Equal(32, link.GetProperty("input_multiple").GetInt32());
        Assert.Equal("resnet18", link.GetProperty("default_encoder").GetString());
    }

    /// <summary>
    /// The text listing has one section per source project, headed by its network count, every network once, and
    /// encoder lists shortened to their column so the columns after it stay aligned.
    /// </summary>
    [Fact]
    public void ListTextGroupsBySourceWithAlignedColumns()
    {
        var (code, stdout, _) = Run("models", "list");
        Assert.Equal(0, code);
        var lines = stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        foreach (var group in ModelZoo.List().GroupBy(i => i.Source))
            Assert.Contains(lines, l => !l.StartsWith(' ') && l.EndsWith($"({group.Count()} networks)", StringComparison.Ordinal) && l.Length > 0);
        var rows = lines.Where(l => l.StartsWith("  ", StringComparison.Ordinal) && !l.StartsWith("  name", StringComparison.Ordinal)).ToList();
        Assert.Equal(ModelZoo.Names.Order(StringComparer.Ordinal), rows.Select(r => r.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]).Order(StringComparer.Ordinal));
        // The heads column starts at the same place in every row: after 2 + 20 + 1 + 32 + 1 characters.
        Assert.All(rows, r => Assert.True(r[55] == ' ' && r[56] != ' ', $"misaligned row: {r}"));
        var liteseg = rows.Single(r => r.StartsWith("  liteseg ", StringComparison.Ordinal));
        Assert.Contains("mobilenet_v2,resnet18,", liteseg);
        Assert.Contains("FPS: the reference's published", stdout);
    }

    /// <summary>
    /// Errors are one line of one shape for every command, "fastseg COMMAND: message": no C# "(Parameter 'x')"
    /// suffix, and an unknown option followed by its value is one problem.
    /// </summary>
    [Theory]
    [InlineData("models describe", "unknown model 'nosuchnet'", "models", "describe", "nosuchnet")]
    [InlineData("bench", "unknown model 'nosuchnet'", "bench", "--model", "nosuchnet", "--size", "64x32", "--min-seconds", "0", "--warmup", "0")]
    [InlineData("models list", "unknown option or argument '--bogus 3'", "models", "list", "--bogus", "3")]
    [InlineData("models describe", "unknown option or argument '--size 5'", "models", "describe", "enet", "--size", "5")]
    public void ErrorsAreOneLineOfTheSameShapeForEveryCommand(string command, string problem, params string[] args)
    {
        var (code, _, stderr) = Run(args);
        Assert.NotEqual(0, code);
        var lines = stderr.TrimEnd('\n', '\r').Split('\n');
        Assert.True(lines.Length == 1, $"expected one line, got:\n{stderr}");
        Assert.StartsWith($"fastseg {command}: ", lines[0]);
        Assert.Contains(problem, lines[0]);
        Assert.DoesNotContain("(Parameter", lines[0]);
    }

    [Fact]
    public void DescribeJsonReportsParamsFlopsStateDictAndOutputShape()
    {
        var (code, stdout, stderr) = Run("models", "describe", "linknet", "--encoder", "resnet34", "--classes", "5", "--json");
        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(new[] { "name", "encoder", "classes", "aux", "detail", "params", "gflops_1024x512", "input_shape", "output_shape", "state_dict" },
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("resnet34", root.GetProperty("encoder").GetString());
        Assert.Equal(new long[] { 1, 5, 512, 1024 }, root.GetProperty("output_shape").EnumerateArray().Select(x => x.GetInt64()));
        using var model = ModelZoo.Create("linknet", "resnet34", 5);
        var sd = model.state_dict();
        var entries = root.GetProperty("state_dict").EnumerateArray().ToList();
        Assert.Equal(sd.Keys, entries.Select(e => e.GetProperty("key").GetString()!));
        Assert.Equal(sd["backbone.conv1.weight"].shape, entries[0].GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()));
        Assert.Equal("int64", entries.First(e => e.GetProperty("key").GetString()!.EndsWith("num_batches_tracked", StringComparison.Ordinal)).GetProperty("dtype").GetString());
        Assert.Equal(model.parameters().Sum(p => p.numel()), root.GetProperty("params").GetInt64());
        double gflops = root.GetProperty("gflops_1024x512").GetDouble();
        Assert.InRange(gflops, 20, 60); // ResNet-34 LinkNet: a few tens of GMACs at 1024x512
    }

    [Fact]
    public void DescribeTextNamesTheFigures()
    {
        var (code, stdout, _) = Run("models", "describe", "linknet");
        Assert.Equal(0, code);
        Assert.Contains("parameters:   11,538,969", stdout);
        Assert.Contains("output shape: [1, 19, 512, 1024]", stdout);
    }

    [Fact]
    public void BadCommandLinesFailWithAReason()
    {
        var unknown = Run("models", "describe", "nonet");
        Assert.Equal(1, unknown.code);
        Assert.Contains("valid names:", unknown.stderr);
        Assert.Contains("linknet", unknown.stderr);
        var badOption = Run("models", "list", "--yaml");
        Assert.Equal(2, badOption.code);
        Assert.Contains("'--yaml'", badOption.stderr);
        var badClasses = Run("models", "describe", "linknet", "--classes", "many");
        Assert.Equal(2, badClasses.code);
        Assert.Contains("--classes needs an integer", badClasses.stderr);
        var badEncoder = Run("models", "describe", "linknet", "--encoder", "vgg");
        Assert.Equal(1, badEncoder.code);
        Assert.Contains("valid encoders: resnet18", badEncoder.stderr);
    }
}
