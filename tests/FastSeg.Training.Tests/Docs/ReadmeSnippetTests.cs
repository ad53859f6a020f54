using System.Globalization;
using FastSeg.Data;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using FastSeg.Torch.Distributed;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;

namespace FastSeg.Training.Tests.Docs;

/// <summary>
/// The files a snippet may read, made once: a small synthetic Cityscapes tree (<c>data/cityscapes</c>), a trainer
/// checkpoint of Fast-SCNN (<c>runs/fastscnn/best.pth</c>), a street scene (<c>frame.png</c>) and an
/// <c>appsettings.json</c> for the dependency-injection snippets. Each snippet runs in its own copy.
/// </summary>
public sealed class SnippetWorkspace : IDisposable
{
    /// <summary>Creates the files.</summary>
    public SnippetWorkspace()
    {
        Root = Path.Combine(Path.GetTempPath(), "fastseg-snippets-" + Guid.NewGuid().ToString("N")[..8]);
        Template = Path.Combine(Root, "template");
        SyntheticCityscapes.Generate(Path.Combine(Template, "data", "cityscapes"),
            new SyntheticCityscapesOptions { Width = 256, Height = 128, TrainCount = 4, ValCount = 2, Seed = 3 });
        var (scene, labels) = SyntheticCityscapes.RenderScene(320, 200, seed: 9);
        using (scene)
        using (labels)
            scene.Save(Path.Combine(Template, "frame.png"));

        manual_seed(4);
        var runDir = Directory.CreateDirectory(Path.Combine(Template, "runs", "fastscnn")).FullName;
        using (var scope = NewDisposeScope())
        using (var model = ModelZoo.Create("fastscnn", numClasses: 19))
            save(new Dictionary<string, object?>
            {
                ["cur_epoch"] = 1L,
                ["state_dict"] = model.state_dict(),
                ["config"] = """{"model": "fastscnn", "encoder": null, "num_class": 19, "use_aux": false}""",
            }, Path.Combine(runDir, "best.pth"));

        // Small enough that a training snippet finishes in seconds.
        File.WriteAllText(Path.Combine(Template, "appsettings.json"), """
            {
              "FastSeg": {
                "Model": { "Name": "fastscnn", "NumClasses": 19 },
                "Data": { "Kind": "cityscapes", "Root": "data/cityscapes" },
                "Trainer": { "total_epoch": 1, "train_bs": 2, "val_bs": 2, "crop_size": 128, "base_workers": 1, "warmup_epochs": 0, "save_dir": "runs/di" }
              }
            }
            """);
        WeightsCache = Directory.CreateDirectory(Path.Combine(Root, "home")).FullName;
        // The published DDRNet file as the cache holds it after a download (tests never reach the internet): a state
        // dict of the same network, so WithPretrained("cityscapes") finds it in the cache and loads it key for key.
        var ddrnet = new WeightsDownloader(Path.Combine(WeightsCache, "weights")).CachePath(PretrainedWeights.Find("ddrnet", null, "cityscapes").CachePath);
        Directory.CreateDirectory(Path.GetDirectoryName(ddrnet)!);
        using (var model = ModelZoo.Create("ddrnet", numClasses: 19)) model.SaveWeights(ddrnet);
    }

    /// <summary>The folder of everything the tests write.</summary>
    public string Root { get; }

    /// <summary>The files every snippet's working directory starts with.</summary>
    public string Template { get; }

    /// <summary>FASTSEG_HOME of the snippets: a weights cache holding DDRNet's published file (a stand-in of the same network).</summary>
    public string WeightsCache { get; }

    /// <summary>A fresh working directory holding a copy of <see cref="Template"/>.</summary>
    public string NewWorkingDirectory(string name)
    {
        var dir = Path.Combine(Root, name);
        Copy(Template, dir);
        return dir;
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in Directory.GetDirectories(from)) Copy(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// Every C# block of README.md and src/PACKAGE.md, read from the files at test time, compiles as a console program
/// against FastSeg and runs to exit code 0 on small generated data; and the check itself fails on a broken block.
/// </summary>
[Collection("trainer")]
public sealed class ReadmeSnippetTests(SnippetWorkspace workspace, ITestOutputHelper log) : IClassFixture<SnippetWorkspace>
{
    private static readonly TimeSpan RunLimit = TimeSpan.FromSeconds(180);

    // Passed to every snippet as its command-line arguments: the training snippet applies them as overrides
    // (WithOverrides(args)) so that it trains one short epoch; the others ignore them.
    private static readonly string[] TrainingOverrides =
        ["total_epoch=1", "train_bs=2", "val_bs=2", "crop_h=128", "crop_w=128", "base_workers=1", "warmup_epochs=0"];

    private static readonly string[] Documents = ["README.md", "src/PACKAGE.md"];

    private static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FastSeg.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no FastSeg.sln above {AppContext.BaseDirectory}");
    }

    private static IEnumerable<DocSnippet> AllSnippets() =>
        Documents.SelectMany(d => MarkdownSnippets.Extract(File.ReadAllText(Path.Combine(RepoRoot, d)), d));

    /// <summary>The snippets' ids ("README.md:80").</summary>
    public static TheoryData<string> Snippets => new(AllSnippets().Select(s => s.Id));

    [Theory]
    [MemberData(nameof(Snippets))]
    public void ReadmeSnippetCompilesAndRuns(string id)
    {
        var snippet = AllSnippets().Single(s => s.Id == id);
        string name = "ReadmeSnippet_" + id.Replace('/', '_').Replace('.', '_').Replace(':', '_');
        var compiled = SnippetCompiler.Compile(snippet, name);
        Assert.True(compiled.Success, $"{id} does not compile:\n{string.Join('\n', compiled.Errors)}");
        if (snippet.CompileOnly) return;

        var environment = new Dictionary<string, string>
        {
            // Weights come from the prepared cache, and a download would go to a closed loopback port: never the internet.
            ["FASTSEG_HOME"] = workspace.WeightsCache,
            ["FASTSEG_WEIGHTS_URL"] = "http://127.0.0.1:9/",
            // The torchrun environment of a one-process group, for the distributed snippet.
            ["MASTER_ADDR"] = "127.0.0.1",
            ["MASTER_PORT"] = LocalLauncher.FreePort().ToString(CultureInfo.InvariantCulture),
            ["RANK"] = "0",
            ["LOCAL_RANK"] = "0",
            ["WORLD_SIZE"] = "1",
        };
        var run = SnippetRunner.Run(compiled.Assembly!, name, workspace.NewWorkingDirectory(name), TrainingOverrides, environment, RunLimit);
        log.WriteLine($"{id}: exit {run.ExitCode}\n{run.Output}");
        Assert.False(run.TimedOut, $"{id} ran longer than {RunLimit}");
        Assert.True(run.ExitCode == 0, $"{id} exited with {run.ExitCode}:\n{run.Output}");
    }

    [Fact]
    public void ReadmeSnippetExtractionFindsTheBlocksOfBothFiles()
    {
        var snippets = AllSnippets().ToList();
        Assert.Contains(snippets, s => s.File == "README.md");
        Assert.Contains(snippets, s => s.File == "src/PACKAGE.md");
        // Each block starts right after its ```csharp line.
        foreach (var s in snippets)
        {
            var lines = File.ReadAllLines(Path.Combine(RepoRoot, s.File));
            Assert.Equal("```csharp", lines[s.Line - 2].Trim());
            Assert.Equal(s.Code.Split('\n')[0], lines[s.Line - 1]);
        }
    }

    [Fact]
    public void ReadmeSnippetWithUndeclaredNamesFailsToCompileNamingTheirLines()
    {
        const string markdown = """
            # Broken

            ```csharp
            using FastSeg.Models.Zoo;

            var model = ModelZoo.Create("fastscnn", numClasses: 19);
            var loss = criterion(model.forward(x), target);
            ```
            """;
        var snippet = Assert.Single(MarkdownSnippets.Extract(markdown, "broken.md"));
        Assert.Equal(4, snippet.Line);
        var compiled = SnippetCompiler.Compile(snippet, "ReadmeSnippet_broken");
        Assert.False(compiled.Success);
        Assert.Contains("broken.md:7: CS0103: The name 'criterion' does not exist in the current context", compiled.Errors);
        Assert.Contains("broken.md:7: CS0103: The name 'x' does not exist in the current context", compiled.Errors);
        Assert.Contains("broken.md:7: CS0103: The name 'target' does not exist in the current context", compiled.Errors);
    }

    [Fact]
    public void ReadmeSnippetWithoutItsUsingFailsToCompile()
    {
        // The engine snippet as the README had it: DeviceType lives in FastSeg.Torch, which only `using static` names.
        var snippet = new DocSnippet("old.md", 1, """
            using static FastSeg.Torch.torch;

            using var scope = NewDisposeScope();
            var x = randn(1, 3, 8, 8);
            using (autocast(DeviceType.CPU))
                x = x.relu();
            """, CompileOnly: false);
        var compiled = SnippetCompiler.Compile(snippet, "ReadmeSnippet_nousing");
        Assert.Contains("old.md:5: CS0103: The name 'DeviceType' does not exist in the current context", compiled.Errors);
    }

    [Fact]
    public void ReadmeSnippetThatThrowsFailsItsRun()
    {
        var snippet = new DocSnippet("throws.md", 1, """
            using FastSeg.Models.Inference;

            using var checkpoint = ModelCheckpoint.Read("missing.pth");
            """, CompileOnly: false);
        var compiled = SnippetCompiler.Compile(snippet, "ReadmeSnippet_throws");
        Assert.True(compiled.Success, string.Join('\n', compiled.Errors));
        var dir = workspace.NewWorkingDirectory("throws");
        var run = SnippetRunner.Run(compiled.Assembly!, "ReadmeSnippet_throws", dir, [], new Dictionary<string, string>(), RunLimit);
        Assert.False(run.TimedOut);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("missing.pth", run.Output);
    }

    [Fact]
    public void ReadmeSnippetMarkersMustBeKnownAndBeforeACSharpBlock()
    {
        var unknown = Assert.Throws<InvalidDataException>(() => MarkdownSnippets.Extract("<!-- snippet: compile_only -->\n```csharp\nint x = 1;\n```\n", "m.md"));
        Assert.Contains("m.md:1: unknown marker", unknown.Message);
        var stray = Assert.Throws<InvalidDataException>(() => MarkdownSnippets.Extract("<!-- snippet: compile-only -->\ntext\n```csharp\nint x = 1;\n```\n", "m.md"));
        Assert.Contains("m.md:1", stray.Message);
        var marked = Assert.Single(MarkdownSnippets.Extract("<!-- snippet: compile-only -->\n\n```csharp\nint x = 1;\n```\n", "m.md"));
        Assert.True(marked.CompileOnly);
    }
}
