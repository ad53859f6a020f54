using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Xml.Linq;
using Xunit;
using Xunit.Abstractions;

namespace FastSeg.Packaging.Tests;

/// <summary>
/// Packs FastSeg.Torch, .Data, .Models and .Training (no-build, the configuration these tests were built in) into a
/// temporary local feed, once for the tests of this class.
/// </summary>
public sealed class PackedLibrariesFixture : IDisposable
{
    /// <summary>The packed projects, in dependency order.</summary>
    public static readonly string[] Projects = ["FastSeg.Torch", "FastSeg.Data", "FastSeg.Models", "FastSeg.Training"];

    public PackedLibrariesFixture()
    {
        RepoRoot = FindRepoRoot();
        Configuration = typeof(PackedLibrariesFixture).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        WorkDir = Path.Combine(Path.GetTempPath(), "fastseg-packaging-" + Guid.NewGuid().ToString("N")[..8]);
        Feed = Path.Combine(WorkDir, "feed");
        Directory.CreateDirectory(Feed);
        var clock = Stopwatch.StartNew();
        foreach (var project in Projects)
        {
            var result = DotnetCli.Run(RepoRoot, TimeSpan.FromMinutes(3), null,
                "pack", Path.Combine("src", project, project + ".csproj"), "-c", Configuration, "--no-build", "-o", Feed);
            if (result.ExitCode != 0) throw new InvalidOperationException($"packing {project} failed: {result}");
        }
        PackTime = clock.Elapsed;
        var torch = Directory.GetFiles(Feed, "FastSeg.Torch.*.nupkg").Single();
        Version = Path.GetFileNameWithoutExtension(torch)["FastSeg.Torch.".Length..];
    }

    /// <summary>The folder holding FastSeg.sln.</summary>
    public string RepoRoot { get; }

    /// <summary>Debug or Release: the libraries were built (and are packed) in the configuration of this assembly.</summary>
    public string Configuration { get; }

    /// <summary>Temporary folder of the feed, the package cache and the consumer app; deleted at the end.</summary>
    public string WorkDir { get; }

    /// <summary>The local feed with the packed .nupkg files.</summary>
    public string Feed { get; }

    /// <summary>The version the packages were given (Directory.Build.props).</summary>
    public string Version { get; }

    /// <summary>How long packing the four libraries took.</summary>
    public TimeSpan PackTime { get; }

    /// <summary>The path of <paramref name="id"/>'s package in the feed.</summary>
    public string Package(string id) => Path.Combine(Feed, $"{id}.{Version}.nupkg");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FastSeg.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no FastSeg.sln above {AppContext.BaseDirectory}; these tests run from the repository's build output");
    }

    public void Dispose()
    {
        try { Directory.Delete(WorkDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

public sealed class PackageConsumerTests(PackedLibrariesFixture packed, ITestOutputHelper output) : IClassFixture<PackedLibrariesFixture>
{
    private static XElement Nuspec(string package, string id)
    {
        using var zip = ZipFile.OpenRead(package);
        using var stream = zip.GetEntry(id + ".nuspec")!.Open();
        return XDocument.Load(stream).Root!;
    }

    private static IReadOnlyList<string> Entries(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        return zip.Entries.Select(e => e.FullName).ToList();
    }

    [Fact]
    public void PackagesCarryTheNativeLibraryReadmeLicenseAndTheirDependencies()
    {
        var torch = Entries(packed.Package("FastSeg.Torch"));
        Assert.Contains("runtimes/linux-x64/native/libfastseg_native.so", torch);
        Assert.Contains("lib/net10.0/FastSeg.Torch.dll", torch);
        Assert.Contains("lib/net10.0/FastSeg.Torch.xml", torch);

        var expectedDependencies = new Dictionary<string, string[]>
        {
            ["FastSeg.Torch"] = [],
            ["FastSeg.Data"] = ["FastSeg.Torch"],
            ["FastSeg.Models"] = ["FastSeg.Data", "FastSeg.Torch"],
            ["FastSeg.Training"] = ["FastSeg.Data", "FastSeg.Models", "Microsoft.Extensions.DependencyInjection.Abstractions",
                "Microsoft.Extensions.Logging.Abstractions", "Microsoft.Extensions.Options.ConfigurationExtensions"],
        };
        foreach (var id in PackedLibrariesFixture.Projects)
        {
            var entries = Entries(packed.Package(id));
            Assert.Contains("README.md", entries);
            var metadata = Nuspec(packed.Package(id), id).Elements().Single(e => e.Name.LocalName == "metadata");
            string Field(string name) => metadata.Elements().Single(e => e.Name.LocalName == name).Value;
            Assert.Equal("MIT", Field("license"));
            Assert.Equal("README.md", Field("readme"));
            Assert.Equal("FastSeg contributors", Field("authors"));
            Assert.False(string.IsNullOrWhiteSpace(Field("description")));
            Assert.DoesNotContain("Package Description", Field("description"));
            var dependencies = metadata.Descendants().Where(e => e.Name.LocalName == "dependency")
                .ToDictionary(e => e.Attribute("id")!.Value, e => e.Attribute("version")!.Value);
            Assert.Equal(expectedDependencies[id].Order(StringComparer.Ordinal), dependencies.Keys.Order(StringComparer.Ordinal));
            foreach (var (dependency, version) in dependencies.Where(d => d.Key.StartsWith("FastSeg.", StringComparison.Ordinal)))
                Assert.Equal(packed.Version, version);
        }
    }

    [Fact]
    public void AFreshConsoleAppRestoresBuildsAndRunsAgainstThePackages()
    {
        var app = Path.Combine(packed.WorkDir, "app");
        var cache = Path.Combine(packed.WorkDir, "nuget-packages");
        Directory.CreateDirectory(app);
        // Stop MSBuild's upward search for Directory.Build.* files at the work folder.
        File.WriteAllText(Path.Combine(packed.WorkDir, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(packed.WorkDir, "Directory.Build.targets"), "<Project />");
        File.WriteAllText(Path.Combine(packed.WorkDir, "Directory.Packages.props"), "<Project />");
        // The local feed first, nuget.org for the third-party dependencies; FastSeg.* may only come from the local feed,
        // and an empty package cache of its own means no earlier copy of a FastSeg package can stand in for these.
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{cache}" />
              </config>
              <packageSources>
                <clear />
                <add key="local" value="{packed.Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local">
                  <package pattern="FastSeg.*" />
                </packageSource>
                <packageSource key="nuget.org">
                  <package pattern="*" />
                </packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="FastSeg.Models" Version="{packed.Version}" />
                <PackageReference Include="FastSeg.Training" Version="{packed.Version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """"
            using FastSeg.Models.Zoo;
            using FastSeg.Training;
            using static FastSeg.Torch.torch;

            using (NewDisposeScope())
            using (var model = ModelZoo.Create("fastscnn", numClasses: 5))
            {
                model.eval();
                using (no_grad())
                {
                    var logits = model.forward(randn(1, 3, 64, 96));
                    Console.WriteLine("output shape: " + string.Join("x", logits.shape));
                }
            }
            var options = TrainerOptions.FromJson("""{ "model": "fastscnn", "num_class": 5, "total_epoch": 10 }""");
            Console.WriteLine($"trainer options: {options.Model}, {options.NumClasses} classes, {options.TotalEpochs} epochs");
            // Where the process loaded the native bridge from: it must be the package's runtime asset.
            var native = File.ReadLines("/proc/self/maps")
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(fields => fields.Length >= 6 && fields[5].EndsWith("/libfastseg_native.so", StringComparison.Ordinal))
                .Select(fields => fields[5])
                .FirstOrDefault();
            Console.WriteLine("native library: " + native);
            """");

        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = cache };
        var build = DotnetCli.Run(app, TimeSpan.FromMinutes(5), environment, "build", "-c", "Release", "-nodeReuse:false");
        output.WriteLine($"pack {packed.PackTime.TotalSeconds:F1} s, restore + build {build.Elapsed.TotalSeconds:F1} s");
        Assert.True(build.ExitCode == 0, build.ToString());

        var outputDir = Path.Combine(app, "bin", "Release", "net10.0");
        var packagedNative = Path.Combine(outputDir, "runtimes", "linux-x64", "native", "libfastseg_native.so");
        Assert.True(File.Exists(packagedNative), $"{packagedNative} was not copied from the FastSeg.Torch package; build output:\n{build.Output}");
        // Restored from the feed into the private cache, at the packed version.
        Assert.True(Directory.Exists(Path.Combine(cache, "fastseg.torch", packed.Version)), $"fastseg.torch {packed.Version} is not in {cache}");

        var run = DotnetCli.Run(app, TimeSpan.FromMinutes(2), environment, Path.Combine(outputDir, "Consumer.dll"));
        output.WriteLine($"run {run.Elapsed.TotalSeconds:F1} s:\n{run.Output}");
        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("output shape: 1x5x64x96", lines);
        Assert.Contains("trainer options: fastscnn, 5 classes, 10 epochs", lines);
        var nativeLine = Assert.Single(lines, l => l.StartsWith("native library: ", StringComparison.Ordinal));
        Assert.Equal(Path.GetFullPath(packagedNative), nativeLine["native library: ".Length..]);
    }
}
