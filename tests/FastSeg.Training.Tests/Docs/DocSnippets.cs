using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace FastSeg.Training.Tests.Docs;

/// <summary>One ```csharp block of a Markdown file.</summary>
/// <param name="File">The Markdown file's name as the tests print it (e.g. "README.md").</param>
/// <param name="Line">1-based line of the block's first code line in that file.</param>
/// <param name="Code">The block's text.</param>
/// <param name="CompileOnly">Marked <c>&lt;!-- snippet: compile-only --&gt;</c>: compiled, not run.</param>
public sealed record DocSnippet(string File, int Line, string Code, bool CompileOnly)
{
    /// <summary>"README.md:80", the name of the snippet in test output.</summary>
    public string Id => $"{File}:{Line}";
}

/// <summary>
/// Finds the C# blocks of a Markdown file. A block may be preceded (blank lines allowed) by an HTML comment
/// <c>&lt;!-- snippet: compile-only --&gt;</c> for code that needs something a test cannot provide; any other
/// <c>snippet:</c> comment is an error, so that a misspelt marker cannot silently change what is checked.
/// </summary>
public static class MarkdownSnippets
{
    private const string MarkerPrefix = "<!-- snippet:";

    /// <summary>The ```csharp blocks of <paramref name="markdown"/>, in order.</summary>
    public static IReadOnlyList<DocSnippet> Extract(string markdown, string fileName)
    {
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        var snippets = new List<DocSnippet>();
        string? marker = null;
        int markerLine = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].Trim();
            if (trimmed.StartsWith(MarkerPrefix, StringComparison.Ordinal))
            {
                marker = trimmed;
                markerLine = i + 1;
                continue;
            }
            if (trimmed.StartsWith("```", StringComparison.Ordinal))
            {
                string language = trimmed[3..].Trim();
                int start = i + 1;
                int end = start;
                while (end < lines.Length && lines[end].Trim() != "```") end++;
                if (end == lines.Length)
                    throw new InvalidDataException($"{fileName}:{i + 1}: code block not closed");
                bool csharp = language is "csharp" or "cs" or "c#";
                if (marker is not null && !csharp)
                    throw new InvalidDataException($"{fileName}:{markerLine}: '{marker}' is not followed by a csharp block");
                if (csharp)
                {
                    bool compileOnly = marker switch
                    {
                        null => false,
                        "<!-- snippet: compile-only -->" => true,
                        _ => throw new InvalidDataException($"{fileName}:{markerLine}: unknown marker '{marker}'; the one known is <!-- snippet: compile-only -->"),
                    };
                    snippets.Add(new DocSnippet(fileName, start + 1, string.Join('\n', lines[start..end]), compileOnly));
                }
                marker = null;
                i = end;
                continue;
            }
            if (trimmed.Length > 0 && marker is not null)
                throw new InvalidDataException($"{fileName}:{markerLine}: '{marker}' must come right before a csharp block");
        }
        return snippets;
    }
}

/// <summary>A compiled snippet: the assembly, or the errors that stopped it, each naming the Markdown line.</summary>
public sealed record SnippetCompilation(byte[]? Assembly, IReadOnlyList<string> Errors)
{
    /// <summary>Whether the snippet compiled.</summary>
    public bool Success => Assembly is not null;
}

/// <summary>
/// Compiles a snippet as the Program.cs of a console app made by <c>dotnet new console</c> referencing the FastSeg
/// packages: top-level statements, the SDK's implicit usings, nullable on, the latest language version. References
/// are every assembly this test process can load (the framework, FastSeg's libraries and the Microsoft.Extensions
/// packages this test project references), so a snippet that needs another package fails to compile.
/// </summary>
public static class SnippetCompiler
{
    // The global usings the .NET SDK adds to a console project (ImplicitUsings=enable).
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var paths = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return paths.Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();
    });

    /// <summary>Compiles <paramref name="snippet"/>; errors read "README.md:83: CS0103: The name 'torch' does not exist ...".</summary>
    public static SnippetCompilation Compile(DocSnippet snippet, string assemblyName)
    {
        var parse = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest);
        var code = CSharpSyntaxTree.ParseText(snippet.Code, parse, path: snippet.File, encoding: Encoding.UTF8);
        var usings = CSharpSyntaxTree.ParseText(ImplicitUsings, parse, path: "ImplicitUsings.g.cs", encoding: Encoding.UTF8);
        var compilation = CSharpCompilation.Create(assemblyName, [code, usings], References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable,
                optimizationLevel: OptimizationLevel.Debug));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        var errors = result.Diagnostics
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => Describe(snippet, d))
            .ToList();
        return result.Success ? new SnippetCompilation(image.ToArray(), errors) : new SnippetCompilation(null, errors);
    }

    private static string Describe(DocSnippet snippet, Diagnostic d)
    {
        var span = d.Location.GetLineSpan();
        string where = d.Location.IsInSource && span.Path == snippet.File
            ? $"{snippet.File}:{snippet.Line + span.StartLinePosition.Line}"
            : snippet.Id;
        return $"{where}: {d.Id}: {d.GetMessage(CultureInfo.InvariantCulture)}";
    }
}

/// <summary>What a snippet's process did.</summary>
public sealed record SnippetRun(int ExitCode, bool TimedOut, string Output);

/// <summary>
/// Runs a compiled snippet as its own process (<c>dotnet exec</c>), so that the working directory, the environment,
/// a process group or a crash of the snippet touch nothing else. The assembly is written next to these tests without
/// a deps.json, so the host resolves FastSeg's assemblies and the native bridge from this folder.
/// </summary>
public static class SnippetRunner
{
    private static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
        ? host
        : "dotnet";

    /// <summary>Runs <paramref name="assembly"/> in <paramref name="workingDirectory"/>; kills it after <paramref name="timeout"/>.</summary>
    public static SnippetRun Run(byte[] assembly, string name, string workingDirectory, IEnumerable<string> args,
        IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, name + ".dll");
        string runtimeConfig = Path.Combine(AppContext.BaseDirectory, name + ".runtimeconfig.json");
        File.WriteAllBytes(dll, assembly);
        var framework = new System.Text.Json.Nodes.JsonObject { ["name"] = "Microsoft.NETCore.App", ["version"] = Environment.Version.ToString() };
        var options = new System.Text.Json.Nodes.JsonObject { ["tfm"] = $"net{Environment.Version.Major}.{Environment.Version.Minor}", ["framework"] = framework };
        File.WriteAllText(runtimeConfig, new System.Text.Json.Nodes.JsonObject { ["runtimeOptions"] = options }.ToJsonString());
        try
        {
            var psi = new ProcessStartInfo(DotnetHost)
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add("exec");
            psi.ArgumentList.Add(dll);
            foreach (var a in args) psi.ArgumentList.Add(a);
            foreach (var (key, value) in environment) psi.Environment[key] = value;
            var output = new StringBuilder();
            using var process = new Process { StartInfo = psi };
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            bool exited = process.WaitForExit((int)timeout.TotalMilliseconds);
            if (!exited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
            else process.WaitForExit(); // drains the redirected streams
            lock (output) return new SnippetRun(exited ? process.ExitCode : -1, !exited, output.ToString());
        }
        finally
        {
            File.Delete(dll);
            File.Delete(runtimeConfig);
        }
    }
}
