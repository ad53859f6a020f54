using System.Globalization;
using System.Text;

namespace FastSeg.Data;

/// <summary>
/// One colour per class id (at most 256, since class-id images are 8-bit): <see cref="Cityscapes"/>, a generated one,
/// or one read from a text file (<see cref="Load"/>). <see cref="Colorize"/> paints a class-id image with it.
/// </summary>
/// <remarks>
/// <para><b>Palette files</b> are UTF-8 text with one colour per line, class 0 first:</para>
/// <list type="bullet">
/// <item><c>r g b</c>: three decimal numbers 0–255, separated by spaces, tabs or commas (<c>128 64 128</c>,
/// <c>128,64,128</c>);</item>
/// <item><c>#rrggbb</c>: six hexadecimal digits (<c>#804080</c>);</item>
/// <item>either may be followed by a class name, which is ignored (<c>128 64 128 road</c>);</item>
/// <item>blank lines, and comment lines whose first character (after spaces) is <c>#</c> followed by a space, a tab
/// or the end of the line, are skipped.</item>
/// </list>
/// <para>Any other line is an error (<see cref="PaletteFormatException"/>) naming the file and the line number.</para>
/// </remarks>
public sealed class Palette
{
    /// <summary>The most colours a palette can have: class ids are 8-bit.</summary>
    public const int MaxColors = 256;

    private readonly Rgb[] _colors;

    /// <summary>Creates a palette; colour k is class k's.</summary>
    /// <exception cref="ArgumentException">No colours, or more than <see cref="MaxColors"/>.</exception>
    public Palette(IReadOnlyList<Rgb> colors)
    {
        ArgumentNullException.ThrowIfNull(colors);
        if (colors.Count is < 1 or > MaxColors)
            throw new ArgumentException($"a palette needs 1 to {MaxColors} colours, got {colors.Count}", nameof(colors));
        _colors = colors.ToArray();
    }

    /// <summary>The Cityscapes benchmark's colours of the 19 train ids (road = 128 64 128, ..., bicycle = 119 11 32).</summary>
    public static Palette Cityscapes { get; } = new(LabelMap.Cityscapes.Palette);

    /// <summary>The colours, indexed by class id.</summary>
    public IReadOnlyList<Rgb> Colors => _colors;

    /// <summary>Number of colours.</summary>
    public int Count => _colors.Length;

    /// <summary>The colour of class <paramref name="id"/>.</summary>
    public Rgb this[int id] => _colors[id];

    /// <summary>
    /// <paramref name="count"/> distinct colours made by PASCAL VOC's bit-interleaving rule (class 0 black), for
    /// class counts that have no palette of their own.
    /// </summary>
    public static Palette Generated(int count)
    {
        if (count is < 1 or > MaxColors) throw new ArgumentOutOfRangeException(nameof(count), count, $"must be in [1, {MaxColors}]");
        var result = new Rgb[count];
        for (int k = 0; k < count; k++)
        {
            int r = 0, g = 0, b = 0, c = k;
            for (int j = 0; j < 8; j++)
            {
                r |= ((c >> 0) & 1) << (7 - j);
                g |= ((c >> 1) & 1) << (7 - j);
                b |= ((c >> 2) & 1) << (7 - j);
                c >>= 3;
            }
            result[k] = new Rgb((byte)r, (byte)g, (byte)b);
        }
        return new Palette(result);
    }

    /// <summary>Reads a palette file (format in the class remarks).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist (the message names it).</exception>
    /// <exception cref="PaletteFormatException">A line is not a colour, or the file has none or too many (message: "file:line: ...").</exception>
    public static Palette Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: palette file not found", path);
        return Parse(File.ReadAllText(path, Encoding.UTF8), path);
    }

    /// <summary>Parses palette text (format in the class remarks); <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="PaletteFormatException">A line is not a colour, or there are none or too many.</exception>
    public static Palette Parse(string text, string source = "palette")
    {
        ArgumentNullException.ThrowIfNull(text);
        var colors = new List<Rgb>();
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int lineNumber = i + 1;
            var line = lines[i].Trim();
            if (line.Length == 0 || IsComment(line)) continue;
            if (colors.Count == MaxColors)
                throw new PaletteFormatException(source, lineNumber, $"more than {MaxColors} colours (class ids are 8-bit)");
            colors.Add(ParseColor(line, source, lineNumber));
        }
        if (colors.Count == 0) throw new PaletteFormatException(source, null, "no colours (expected one \"r g b\" or \"#rrggbb\" per line)");
        return new Palette(colors);
    }

    private static bool IsComment(string line) => line[0] == '#' && (line.Length == 1 || char.IsWhiteSpace(line[1]));

    private static Rgb ParseColor(string line, string source, int lineNumber)
    {
        var tokens = line.Split(new[] { ' ', '\t', ',' }, StringSplitOptions.RemoveEmptyEntries);
        if (tokens[0].StartsWith('#'))
        {
            var hex = tokens[0][1..];
            if (hex.Length != 6 || !int.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int rgb))
                throw new PaletteFormatException(source, lineNumber, $"'{tokens[0]}' is not a colour: expected # and six hexadecimal digits (e.g. #804080)");
            return new Rgb((byte)(rgb >> 16), (byte)(rgb >> 8), (byte)rgb);
        }
        if (tokens.Length < 3)
            throw new PaletteFormatException(source, lineNumber, $"expected \"r g b\" (three numbers 0-255) or \"#rrggbb\", got \"{line}\"");
        var channels = new byte[3];
        for (int c = 0; c < 3; c++)
        {
            if (!int.TryParse(tokens[c], NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v > 255)
                throw new PaletteFormatException(source, lineNumber,
                    $"'{tokens[c]}' is not a colour value (0-255); expected \"r g b\" or \"#rrggbb\", got \"{line}\"");
            channels[c] = (byte)v;
        }
        return new Rgb(channels[0], channels[1], channels[2]);
    }

    /// <summary>The palette in its file format, one <c>r g b</c> line per class.</summary>
    public string ToText() => string.Join('\n', _colors.Select(c => $"{c.R} {c.G} {c.B}")) + "\n";

    /// <summary>
    /// Paints an 8-bit one-channel class-id image: pixel id k becomes colour k; ids the palette has no colour for
    /// (such as the ignore index 255) become black. Returns a new RGB image of the same size.
    /// </summary>
    /// <exception cref="ArgumentException">The image is not 8-bit with one channel.</exception>
    public Image Colorize(Image classIds)
    {
        ArgumentNullException.ThrowIfNull(classIds);
        if (classIds.Channels != 1 || classIds.Depth != ImageDepth.UInt8)
            throw new ArgumentException($"Colorize needs an 8-bit 1-channel class-id image, got {classIds.Describe()}", nameof(classIds));
        // A 256-entry table covers every possible id, so the loop needs no bounds check on the id.
        var lut = new byte[MaxColors * 3];
        for (int k = 0; k < _colors.Length; k++)
        {
            lut[3 * k] = _colors[k].R;
            lut[3 * k + 1] = _colors[k].G;
            lut[3 * k + 2] = _colors[k].B;
        }
        var colour = new Image(classIds.Width, classIds.Height, 3);
        var src = classIds.Pixels;
        var dst = colour.Pixels;
        for (int i = 0, j = 0; i < src.Length; i++, j += 3)
        {
            int v = src[i] * 3;
            dst[j] = lut[v];
            dst[j + 1] = lut[v + 1];
            dst[j + 2] = lut[v + 2];
        }
        return colour;
    }
}

/// <summary>A palette file or text could not be parsed. The message starts with "file:line:" (or "file:").</summary>
public sealed class PaletteFormatException : FormatException
{
    /// <summary>Creates the exception for line <paramref name="lineNumber"/> (1-based; null for the file as a whole) of <paramref name="source"/>.</summary>
    public PaletteFormatException(string source, int? lineNumber, string problem)
        : base(lineNumber is null ? $"{source}: {problem}" : $"{source}:{lineNumber}: {problem}")
    {
        SourceName = source;
        LineNumber = lineNumber;
        Problem = problem;
    }

    /// <summary>The file (or the name given to <see cref="Palette.Parse"/>).</summary>
    public string SourceName { get; }

    /// <summary>The 1-based line at fault, or null when the problem is the whole file.</summary>
    public int? LineNumber { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }
}
