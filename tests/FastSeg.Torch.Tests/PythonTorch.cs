using System.Diagnostics;
using Xunit;

namespace FastSeg.Torch.Tests;

/// <summary>
/// The reference engine for cross-checks: Debian's <c>/usr/bin/python3</c> with python3-torch. Tests that need it use
/// <see cref="PythonTorchFactAttribute"/>, which skips them (with the reason) where it is missing.
/// </summary>
public static class PythonTorch
{
    /// <summary>
    /// The interpreter that has torch: Debian's <c>/usr/bin/python3</c> (not the <c>python3</c> on PATH, which may lack
    /// it), unless the environment variable <c>FASTSEG_PYTHON</c> names another one.
    /// </summary>
    public static string Interpreter { get; } = Environment.GetEnvironmentVariable("FASTSEG_PYTHON") is { Length: > 0 } p
        ? p
        : "/usr/bin/python3";

    private static readonly Lazy<string?> Unavailable = new(Probe);

    /// <summary>Whether <see cref="Interpreter"/> exists and can import torch.</summary>
    public static bool IsAvailable => Unavailable.Value is null;

    /// <summary>Why Python with torch cannot be used, or null when it can.</summary>
    public static string? UnavailableReason => Unavailable.Value;

    private static string? Probe()
    {
        if (!File.Exists(Interpreter)) return $"{Interpreter} does not exist";
        try
        {
            var r = Run("import torch; print(torch.__version__)", timeoutSeconds: 120);
            return r.ExitCode == 0 ? null : $"{Interpreter} cannot import torch: {r.StdErr.Trim()}";
        }
        catch (Exception e)
        {
            return $"{Interpreter} could not be run: {e.Message}";
        }
    }

    /// <summary>The outcome of one script.</summary>
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        /// <summary>Both streams, for assertion messages.</summary>
        public override string ToString() => $"exit code {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
    }

    /// <summary>
    /// Runs <paramref name="script"/> (Python source) with <paramref name="args"/> as <c>sys.argv[1:]</c> and captures
    /// its output. The script is passed as a file, so it may span many lines.
    /// </summary>
    public static Result Run(string script, IEnumerable<string>? args = null, int timeoutSeconds = 300)
    {
        var file = Path.Combine(Path.GetTempPath(), $"fastseg-{Guid.NewGuid():N}.py");
        File.WriteAllText(file, script);
        try
        {
            var psi = new ProcessStartInfo(Interpreter)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add(file);
            foreach (var a in args ?? Array.Empty<string>()) psi.ArgumentList.Add(a);
            // One thread keeps the reference engine from competing with the test run for cores.
            psi.Environment["OMP_NUM_THREADS"] = "1";
            using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Interpreter}");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeoutSeconds * 1000))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"the Python script ran for more than {timeoutSeconds} s");
            }
            return new Result(process.ExitCode, stdout.Result, stderr.Result);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Runs <paramref name="script"/> and fails the test unless it exits with 0; returns its stdout.</summary>
    public static string RunChecked(string script, params string[] args)
    {
        var r = Run(script, args);
        Assert.True(r.ExitCode == 0, "the Python check failed: " + r);
        return r.StdOut;
    }
}

/// <summary>A fact that needs <see cref="PythonTorch"/>; it is skipped, with the reason, where that is unavailable.</summary>
public sealed class PythonTorchFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when Python with torch cannot be run.</summary>
    public PythonTorchFactAttribute()
    {
        if (!PythonTorch.IsAvailable) Skip = "needs Python with torch: " + PythonTorch.UnavailableReason;
    }
}

/// <summary>A theory that needs <see cref="PythonTorch"/>; it is skipped, with the reason, where that is unavailable.</summary>
public sealed class PythonTorchTheoryAttribute : TheoryAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when Python with torch cannot be run.</summary>
    public PythonTorchTheoryAttribute()
    {
        if (!PythonTorch.IsAvailable) Skip = "needs Python with torch: " + PythonTorch.UnavailableReason;
    }
}
