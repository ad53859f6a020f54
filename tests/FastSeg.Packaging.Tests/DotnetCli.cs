using System.Diagnostics;
using System.Text;

namespace FastSeg.Packaging.Tests;

/// <summary>The result of one <c>dotnet</c> command: exit code and the interleaved standard output and error.</summary>
public sealed record DotnetResult(string Command, int ExitCode, string Output, TimeSpan Elapsed)
{
    /// <summary>Everything a failure message needs to be diagnosed without re-running.</summary>
    public override string ToString() => $"`{Command}` exited with {ExitCode} after {Elapsed.TotalSeconds:F1} s; output:\n{Output}";
}

/// <summary>Runs the <c>dotnet</c> on PATH as a child process, isolated from the test host's MSBuild state.</summary>
public static class DotnetCli
{
    /// <summary>
    /// Runs <c>dotnet {arguments}</c> in <paramref name="workingDirectory"/>. On timeout the process tree is killed and
    /// the result carries exit code -1 and what was printed until then.
    /// </summary>
    public static DotnetResult Run(string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        // Under `dotnet test` the host inherits variables of the outer MSBuild (SDK and extension paths); a nested build
        // must find its own. Build servers are off so that no long-lived process keeps the output pipes open.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["UseSharedCompilation"] = "false";
        if (environment is not null)
            foreach (var (key, value) in environment) start.Environment[key] = value;

        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        int exitCode;
        if (process.WaitForExit(timeout))
        {
            process.WaitForExit();   // drains the asynchronous readers
            exitCode = process.ExitCode;
        }
        else
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(10));
            lock (output) output.AppendLine($"[killed after the {timeout.TotalSeconds:F0} s timeout]");
            exitCode = -1;
        }
        string command = "dotnet " + string.Join(" ", arguments);
        lock (output) return new DotnetResult(command, exitCode, output.ToString(), clock.Elapsed);
    }
}
