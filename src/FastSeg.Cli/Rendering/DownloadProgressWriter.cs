using System.Globalization;
using FastSeg.Models.Zoo;

namespace FastSeg.Cli.Rendering;

/// <summary>
/// Prints a weights download on the error stream: where from and to, then a line at every tenth of the file (every
/// 10 MB when the size is unknown), and the size when done. Lines rather than a redrawn bar, so logs stay readable.
/// </summary>
internal sealed class DownloadProgressWriter(TextWriter writer) : IProgress<DownloadProgress>
{
    private const long Step = 10L << 20;
    private bool _started;
    private long _nextMark;

    public void Report(DownloadProgress value)
    {
        if (!_started)
        {
            _started = true;
            writer.WriteLine($"fastseg: downloading {value.Url} to {value.FilePath}");
            _nextMark = NextMark(value.BytesReceived, value.TotalBytes);
        }
        if (value.Completed)
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fastseg: downloaded {Megabytes(value.BytesReceived)} MB"));
            return;
        }
        if (value.BytesReceived < _nextMark) return;
        writer.WriteLine(value.TotalBytes is long total && total > 0
            ? string.Create(CultureInfo.InvariantCulture, $"fastseg:   {100 * value.BytesReceived / total,3}% ({Megabytes(value.BytesReceived)} of {Megabytes(total)} MB)")
            : string.Create(CultureInfo.InvariantCulture, $"fastseg:   {Megabytes(value.BytesReceived)} MB"));
        _nextMark = NextMark(value.BytesReceived, value.TotalBytes);
    }

    private static long NextMark(long received, long? total)
    {
        long step = total is long t && t > 0 ? Math.Max(1, t / 10) : Step;
        return (received / step + 1) * step;
    }

    private static string Megabytes(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
}
