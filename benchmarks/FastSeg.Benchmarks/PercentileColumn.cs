using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Perfolizer.Horology;

namespace FastSeg.Benchmarks;

/// <summary>
/// A summary column with any percentile of the per-operation times (BenchmarkDotNet ships P0, P25, P50, P67, P80, P85,
/// P90, P95 and P100, but not the P10 that the results tables quote).
/// </summary>
public sealed class PercentileColumn : IColumn
{
    private readonly int _percentile;

    public PercentileColumn(int percentile) => _percentile = percentile;

    public string Id => $"{nameof(PercentileColumn)}.P{_percentile}";
    public string ColumnName => $"P{_percentile}";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Statistics;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Time;
    public string Legend => $"Percentile {_percentile}: {_percentile}% of the per-operation times are lower";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var statistics = summary[benchmarkCase]?.ResultStatistics;
        if (statistics is null) return "NA";
        double nanoseconds = statistics.Percentiles.Percentile(_percentile);
        // The same unit as the other time columns (the summary's style fixes one for the whole table).
        var unit = style.TimeUnit ?? TimeUnit.GetBestTimeUnit(nanoseconds);
        string text = TimeUnit.Convert(nanoseconds, TimeUnit.Nanosecond, unit).ToString("N3", style.CultureInfo);
        return style.PrintUnitsInContent ? text + " " + unit.Abbreviation : text;
    }

    public override string ToString() => ColumnName;
}
