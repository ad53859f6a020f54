using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace FastSeg.Training.Logging;

/// <summary>
/// Everything a training run writes about itself, on the main process only: log lines (to an
/// <see cref="ILogger"/> and to <c>{save_dir}/{logger_name}.log</c>), one JSON line per iteration and validation in
/// <c>{save_dir}/metrics.jsonl</c>, and TensorBoard event files in <c>tb_log_dir</c> (default <c>{save_dir}/tb</c>) with the reference's tags.
/// On other ranks every call does nothing.
/// </summary>
internal sealed class TrainingLog : IDisposable
{
    private readonly ILogger? _logger;
    private readonly StreamWriter? _text;
    private readonly StreamWriter? _metrics;
    private readonly TensorBoardWriter? _tensorBoard;
    private readonly int _totalEpochs;
    private readonly int _interval;

    public TrainingLog(TrainerOptions options, bool isMain, ILogger? logger)
    {
        _totalEpochs = options.TotalEpochs;
        _interval = options.LogInterval;
        if (!isMain) return;
        _logger = logger;
        Directory.CreateDirectory(options.SaveDir);
        if (options.LoggerName is not null)
            _text = new StreamWriter(Path.Combine(options.SaveDir, options.LoggerName + ".log"), append: true) { AutoFlush = true };
        _metrics = new StreamWriter(Path.Combine(options.SaveDir, "metrics.jsonl"), append: true) { AutoFlush = true };
        if (options.UseTensorBoard) _tensorBoard = new TensorBoardWriter(options.TbLogDir ?? Path.Combine(options.SaveDir, "tb"));
        IsMain = true;
    }

    public bool IsMain { get; }

    public void Info(string message)
    {
        if (!IsMain) return;
        _logger?.LogInformation("{Message}", message);
        _text?.WriteLine($"[{DateTime.Now:yyyy-MM-dd HH:mm}] {message}");
    }

    /// <summary>A log line every log_interval iterations, a metrics line and TensorBoard scalars for every report.</summary>
    public void Record(TrainingProgress p)
    {
        if (!IsMain) return;
        if (p.Kind == ProgressKind.Iteration && _interval > 0 && p.Iteration % _interval == 0)
            Info($"Epoch:{p.Epoch}/{_totalEpochs} | Iter:{p.Iteration}/{p.TotalIterations} | Loss:{p.Loss:G4} | lr:{p.LearningRate:G4} | {p.ImagesPerSecond:F1} img/s");
        if (_metrics is null) return;
        var line = new Dictionary<string, object?>
        {
            ["kind"] = p.Kind == ProgressKind.Iteration ? "train" : "val",
            ["epoch"] = p.Epoch,
            ["iteration"] = p.Iteration,
            ["time_s"] = Math.Round(p.Elapsed.TotalSeconds, 3),
        };
        if (p.Kind == ProgressKind.Iteration)
        {
            line["lr"] = p.LearningRate;
            line["images_per_s"] = Math.Round(p.ImagesPerSecond, 2);
            foreach (var (k, v) in p.LossParts) line[k] = v;
        }
        else if (p.Report is not null)
        {
            line["mIoU"] = p.Report.MeanIoU;
            line["pixel_accuracy"] = p.Report.PixelAccuracy;
            line["iou"] = p.Report.ClassNames.Zip(p.Report.IoU).ToDictionary(x => x.First, x => x.Second);
        }
        _metrics.WriteLine(JsonSerializer.Serialize(line));
        WriteTensorBoard(p);
    }

    // The reference's tags: train/loss (and each loss part) and train/lr per iteration; val/mIoU and per-class IoU
    // per validation, at step epoch + 1. Per-class tags use the class name rather than the reference's float-formatted index.
    private void WriteTensorBoard(TrainingProgress p)
    {
        if (_tensorBoard is null) return;
        if (p.Kind == ProgressKind.Iteration)
        {
            _tensorBoard.AddScalar("train/loss", p.Loss, p.Iteration);
            _tensorBoard.AddScalar("train/lr", p.LearningRate, p.Iteration);
            foreach (var (k, v) in p.LossParts)
                if (k != "loss") _tensorBoard.AddScalar("train/" + k, v, p.Iteration);
        }
        else if (p.Report is not null)
        {
            long step = p.Epoch + 1;
            _tensorBoard.AddScalar("val/mIoU", p.Report.MeanIoU, step);
            _tensorBoard.AddScalar("val/pixel_accuracy", p.Report.PixelAccuracy, step);
            foreach (var (name, iou) in p.Report.ClassNames.Zip(p.Report.IoU)) _tensorBoard.AddScalar("val/IoU_" + name, iou, step);
        }
        _tensorBoard.Flush();
    }

    public void Dispose()
    {
        _text?.Dispose();
        _metrics?.Dispose();
        _tensorBoard?.Dispose();
    }
}
