using System.Globalization;
using FastSeg.Training;
using FastSeg.Training.Metrics;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace FastSeg.Cli.Rendering;

/// <summary>
/// Spectre.Console over the command's writers: the real terminal (colours, live progress bars) when the writer is the
/// process's standard output on a terminal, plain text without escape codes otherwise (pipes, files, tests).
/// </summary>
internal static class ConsoleRendering
{
    /// <summary>An <see cref="IAnsiConsole"/> writing to <paramref name="writer"/>.</summary>
    public static IAnsiConsole For(TextWriter writer)
    {
        bool terminal = ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        // Logs and pipes: no wrapping at an assumed 80 columns (one progress line stays one line).
        if (!terminal) console.Profile.Width = 240;
        return console;
    }

    /// <summary>Whether live widgets (progress bars redrawn in place) can be shown.</summary>
    public static bool IsInteractive(IAnsiConsole console) => console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi;

    /// <summary>
    /// The per-class table: IoU, accuracy and pixel count (support) per class, then mIoU over all classes, mIoU over
    /// the classes present in the labels, and pixel accuracy.
    /// </summary>
    public static Table IoUTable(SegmentationReport report)
    {
        var c = CultureInfo.InvariantCulture;
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("class")
            .AddColumn(new TableColumn("IoU %").RightAligned())
            .AddColumn(new TableColumn("Acc %").RightAligned())
            .AddColumn(new TableColumn("pixels").RightAligned());
        for (int i = 0; i < report.ClassNames.Count; i++)
        {
            string support = report.Support is { } s ? s[i].ToString("N0", c) : "-";
            table.AddRow(Markup.Escape(report.ClassNames[i]), (100 * report.IoU[i]).ToString("F2", c),
                (100 * report.ClassAccuracy[i]).ToString("F2", c), support);
        }
        table.AddEmptyRow();
        table.AddRow("mean", (100 * report.MeanIoU).ToString("F2", c), (100 * report.MeanClassAccuracy).ToString("F2", c),
            report.Pixels.ToString("N0", c));
        if (report.Support is not null && report.Support.Any(n => n == 0))
            table.AddRow("mean (present classes)", (100 * report.MeanIoUPresent).ToString("F2", c), "", "");
        table.AddRow("pixel accuracy", "", (100 * report.PixelAccuracy).ToString("F2", c), "");
        return table;
    }

    /// <summary>One summary line of a validation report (greppable: "mIoU 54.71%").</summary>
    public static string Summary(SegmentationReport report) => string.Create(CultureInfo.InvariantCulture,
        $"mIoU {100 * report.MeanIoU:F2}% (all {report.IoU.Count} classes), {100 * report.MeanIoUPresent:F2}% (classes present in the labels), pixel accuracy {100 * report.PixelAccuracy:F2}%");
}

/// <summary>
/// Renders the trainer's progress events: a live bar (iteration, loss, lr, images/s) on a terminal, one line every
/// <c>every</c> iterations otherwise; a line per validation.
/// </summary>
internal sealed class TrainingProgressRenderer : IProgress<TrainingProgress>
{
    private readonly IAnsiConsole _console;
    private readonly int _every;
    private ProgressTask? _task;

    public TrainingProgressRenderer(IAnsiConsole console, int every)
    {
        _console = console;
        _every = Math.Max(1, every);
    }

    /// <summary>Runs <paramref name="work"/> with a live progress bar when the console can show one.</summary>
    public T Run<T>(long totalIterations, Func<T> work)
    {
        if (!ConsoleRendering.IsInteractive(_console)) return work();
        return _console.Progress()
            .AutoClear(false)
            .Columns(new ProgressColumn[]
            {
                new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(),
            })
            .Start(ctx =>
            {
                _task = ctx.AddTask("training", maxValue: Math.Max(1, totalIterations));
                try { return work(); }
                finally { _task.StopTask(); }
            });
    }

    public void Report(TrainingProgress p)
    {
        var c = CultureInfo.InvariantCulture;
        if (p.Kind == ProgressKind.Validation)
        {
            _console.MarkupLine(Markup.Escape(string.Create(c, $"epoch {p.Epoch + 1}: validation {ConsoleRendering.Summary(p.Report!)}")));
            return;
        }
        string status = string.Create(c, $"iter {p.Iteration}/{p.TotalIterations} epoch {p.Epoch + 1} loss {p.Loss:F4} lr {p.LearningRate:G3} {p.ImagesPerSecond:F1} img/s");
        if (_task is not null)
        {
            _task.Value = p.Iteration;
            _task.Description = Markup.Escape(status);
        }
        else if (p.Iteration == 1 || p.Iteration % _every == 0 || p.Iteration == p.TotalIterations)
            _console.WriteLine(status);
    }
}
