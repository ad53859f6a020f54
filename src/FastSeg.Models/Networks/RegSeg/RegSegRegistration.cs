using System.Globalization;
using System.Text.RegularExpressions;
using FastSeg.Models.Blocks;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

internal sealed class RegSegRegistration : IModelRegistration
{
    private const int MaxDilation = 128;

    public ModelInfo Info { get; } = new()
    {
        Name = "regseg",
        Title = "RegSeg",
        Paper = "Rethinking Dilated Convolution for Real-time Semantic Segmentation (arXiv 2111.09957, 2021)",
        // 'glu' is left out: it halves the channels and breaks every block.
        ExtraOptions = new Dictionary<string, string[]> { ["act_type"] = Activation.OptionValues("relu") },
        ValueOptions = new Dictionary<string, ValueOption> { ["dilations"] = DilationPairs() },
        InputMultiple = 32,
        ReferenceParameters = 3_367_132,
        ReferenceMIoU = 74.28,
        ReferenceFps = 104,
    };

    /// <summary>
    /// The reference's <c>dilations</c>: a list of 13 (r1, r2) pairs, written as in Python ("[[1,1],[1,2],…]") or as
    /// "1,1;1,2;…". The thirteenth pair belongs to the strided last block, which ignores it.
    /// </summary>
    private static ValueOption DilationPairs() => new()
    {
        Default = Format(RegSeg.DefaultDilations),
        Expected = $"13 dilation pairs (r1, r2) from 1 to {MaxDilation}, as [[1,1],[1,2],...] or 1,1;1,2;...",
        Check = v => TryParse(v, out var pairs) ? pairs.Count == 13 ? null : $"{pairs.Count} pairs instead of 13" : $"not a list of (r1, r2) pairs from 1 to {MaxDilation}",
    };

    private static string Format(IEnumerable<(int R1, int R2)> pairs) =>
        "[" + string.Join(",", pairs.Select(p => $"[{p.R1},{p.R2}]")) + "]";

    private static readonly Regex BracketedPair = new(@"^[\[(]\s*(\d+)\s*,\s*(\d+)\s*[\])]$", RegexOptions.CultureInvariant);

    /// <summary>Parses "[[a,b],[c,d],…]" (or with parentheses) or "a,b;c,d;…" into pairs of rates from 1 to 128.</summary>
    internal static bool TryParse(string value, out List<(int R1, int R2)> pairs)
    {
        pairs = new List<(int, int)>();
        var text = value.Trim();
        IEnumerable<string> items;
        if (text.Contains(';'))
            items = text.Split(';', StringSplitOptions.TrimEntries).Select(s => "[" + s + "]");
        else
        {
            if (text.Length < 2 || text[0] is not ('[' or '(') || text[^1] is not (']' or ')')) return false;
            var inner = text[1..^1].Trim();
            items = Regex.Split(inner, @"(?<=[\])])\s*,\s*(?=[\[(])");
        }
        foreach (var item in items)
        {
            var m = BracketedPair.Match(item.Trim());
            if (!m.Success) return false;
            int r1 = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), r2 = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            if (r1 < 1 || r2 < 1 || r1 > MaxDilation || r2 > MaxDilation) return false;
            pairs.Add((r1, r2));
        }
        return pairs.Count > 0;
    }

    public SegmentationModel Build(ModelOptions options)
    {
        var text = options.Get("dilations", Info.ValueOptions["dilations"].Default);
        if (!TryParse(text, out var pairs)) throw new ArgumentException($"regseg option 'dilations' cannot be '{text}'");
        return new RegSeg(options.NumClasses, pairs, options.Get("act_type", "relu"));
    }
}
