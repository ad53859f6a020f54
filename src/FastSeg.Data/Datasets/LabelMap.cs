using FastSeg.Data.Interop;

namespace FastSeg.Data;

/// <summary>An RGB colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B);

/// <summary>The outcome of <see cref="LabelMap.Apply(Image)"/>.</summary>
public sealed class LabelMapping : IDisposable
{
    internal LabelMapping(Image mask, long invalidPixels, int[] invalidIds, int invalidIdCount)
    {
        Mask = mask;
        InvalidPixels = invalidPixels;
        InvalidIds = invalidIds;
        InvalidIdCount = invalidIdCount;
    }

    /// <summary>The mapped 8-bit mask: train ids, the ignore index, and 255 where the source id was invalid.</summary>
    public Image Mask { get; }

    /// <summary>How many pixels held an id that the map does not define.</summary>
    public long InvalidPixels { get; }

    /// <summary>The distinct invalid ids, ascending (at most 16 are listed).</summary>
    public IReadOnlyList<int> InvalidIds { get; }

    /// <summary>How many distinct invalid ids there were.</summary>
    public int InvalidIdCount { get; }

    /// <summary>Whether every pixel had a defined id.</summary>
    public bool IsValid => InvalidPixels == 0;

    /// <summary>"ids 40, 41 (1234 pixels) are not in the Cityscapes label map".</summary>
    public string Describe(string mapName)
    {
        var ids = string.Join(", ", InvalidIds) + (InvalidIdCount > InvalidIds.Count ? $" and {InvalidIdCount - InvalidIds.Count} more" : "");
        return $"{(InvalidIdCount == 1 ? "id" : "ids")} {ids} ({InvalidPixels} pixels) {(InvalidIdCount == 1 ? "is" : "are")} not in the {mapName} label map";
    }

    /// <summary>Disposes <see cref="Mask"/>.</summary>
    public void Dispose() => Mask.Dispose();
}

/// <summary>
/// Maps the ids stored in mask files to training ids: a table from stored id to class index (0..NumClasses-1), the
/// ignore index, or "invalid". Invalid ids are never mapped silently: <see cref="Apply(Image)"/> reports them and the
/// datasets turn them into an error (or a skipped sample). Also carries the class names and the colour palette.
/// </summary>
public sealed class LabelMap
{
    private readonly int[] _table;
    private readonly string[] _names;
    private readonly Rgb[] _palette;

    /// <summary>Creates a map.</summary>
    /// <param name="name">A short name used in messages ("Cityscapes").</param>
    /// <param name="table">Entry k is the train id of stored id k: 0..classNames.Count-1, <paramref name="ignoreIndex"/>, or -1 for
    /// "not a valid id". Stored ids beyond the table are invalid.</param>
    /// <param name="classNames">One name per class.</param>
    /// <param name="palette">One colour per class (default: a generated palette).</param>
    /// <param name="ignoreIndex">The train id excluded from the loss; at most 255.</param>
    public LabelMap(string name, IReadOnlyList<int> table, IReadOnlyList<string> classNames, IReadOnlyList<Rgb>? palette = null,
        int ignoreIndex = 255)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(classNames);
        if (classNames.Count < 1 || classNames.Count > 255)
            throw new ArgumentException("a label map needs between 1 and 255 classes", nameof(classNames));
        if (ignoreIndex < 0 || ignoreIndex > 255) throw new ArgumentOutOfRangeException(nameof(ignoreIndex), ignoreIndex, "must be in [0, 255]");
        if (ignoreIndex < classNames.Count)
            throw new ArgumentException($"the ignore index {ignoreIndex} collides with class {ignoreIndex} ('{classNames[ignoreIndex]}')", nameof(ignoreIndex));
        if (table.Count > 65536) throw new ArgumentException("stored ids are at most 16-bit: the table has more than 65536 entries", nameof(table));
        for (int k = 0; k < table.Count; k++)
        {
            int v = table[k];
            if (v != -1 && v != ignoreIndex && (v < 0 || v >= classNames.Count))
                throw new ArgumentException($"table entry {k} maps to {v}, which is neither a class (0..{classNames.Count - 1}), the ignore index {ignoreIndex} nor -1", nameof(table));
        }
        if (palette is not null && palette.Count < classNames.Count)
            throw new ArgumentException($"the palette has {palette.Count} colours for {classNames.Count} classes", nameof(palette));
        Name = name;
        _table = table.ToArray();
        _names = classNames.ToArray();
        _palette = palette?.Take(classNames.Count).ToArray() ?? Data.Palette.Generated(classNames.Count).Colors.ToArray();
        IgnoreIndex = ignoreIndex;
    }

    /// <summary>A short name used in messages.</summary>
    public string Name { get; }

    /// <summary>Number of classes.</summary>
    public int NumClasses => _names.Length;

    /// <summary>The train id that the loss ignores (255 by default).</summary>
    public int IgnoreIndex { get; }

    /// <summary>Class names, indexed by train id.</summary>
    public IReadOnlyList<string> ClassNames => _names;

    /// <summary>Class colours, indexed by train id.</summary>
    public IReadOnlyList<Rgb> Palette => _palette;

    /// <summary>The table: entry k is the train id of stored id k, or -1 (invalid).</summary>
    public IReadOnlyList<int> Table => _table;

    /// <summary>The train id of stored id <paramref name="storedId"/>, or -1 when it is invalid.</summary>
    public int this[int storedId] => storedId >= 0 && storedId < _table.Length ? _table[storedId] : -1;

    /// <summary>The smallest stored id that maps to <paramref name="trainId"/>, or -1 (for writing predictions in the stored encoding).</summary>
    public int StoredIdOf(int trainId) => Array.IndexOf(_table, trainId);

    /// <summary>Ids 0..numClasses-1 map to themselves, <paramref name="ignoreIndex"/> to itself; every other id is invalid.</summary>
    public static LabelMap Identity(int numClasses, int ignoreIndex = 255, IReadOnlyList<string>? classNames = null,
        IReadOnlyList<Rgb>? palette = null, string name = "identity")
    {
        if (numClasses < 1 || numClasses > 255) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "must be in [1, 255]");
        var table = Enumerable.Repeat(-1, Math.Max(numClasses, ignoreIndex + 1)).ToArray();
        for (int k = 0; k < numClasses; k++) table[k] = k;
        table[ignoreIndex] = ignoreIndex;
        return new LabelMap(name, table, classNames ?? Enumerable.Range(0, numClasses).Select(k => $"class {k}").ToArray(), palette, ignoreIndex);
    }

    /// <summary>
    /// A map from explicit pairs (stored id → train id). Stored ids that are not listed are invalid, or map to the
    /// ignore index when <paramref name="unlistedToIgnore"/> is set.
    /// </summary>
    public static LabelMap FromPairs(IEnumerable<KeyValuePair<int, int>> pairs, IReadOnlyList<string> classNames,
        IReadOnlyList<Rgb>? palette = null, int ignoreIndex = 255, bool unlistedToIgnore = false, string name = "custom")
    {
        var list = pairs.ToList();
        int length = list.Count == 0 ? 1 : list.Max(p => p.Key) + 1;
        if (unlistedToIgnore) length = Math.Max(length, 256);
        var table = Enumerable.Repeat(unlistedToIgnore ? ignoreIndex : -1, length).ToArray();
        foreach (var (k, v) in list)
        {
            if (k < 0) throw new ArgumentException($"stored id {k} is negative", nameof(pairs));
            table[k] = v;
        }
        return new LabelMap(name, table, classNames, palette, ignoreIndex);
    }

    /// <summary>Maps a 1-channel mask (8- or 16-bit) to train ids in one native pass and reports invalid ids.</summary>
    public unsafe LabelMapping Apply(Image mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        var ids = new int[16];
        IntPtr h;
        long invalid;
        int count;
        fixed (int* t = _table)
        fixed (int* p = ids)
            ImageNative.Check(NativeMethods.fs_image_map_labels(mask.NativeHandle, t, _table.Length, out h, out invalid, p, ids.Length, out count));
        return new LabelMapping(Image.FromHandle(h), invalid, ids.Take(Math.Min(count, ids.Length)).ToArray(), count);
    }

    /// <summary>Colours a mask of train ids with the palette (the ignore index and unknown ids become black).</summary>
    public Image Colorize(Image trainIds) => new Palette(_palette).Colorize(trainIds);

    // ---- the standard maps ----------------------------------------------------------------------------------------

    /// <summary>
    /// Cityscapes: the 34 label ids of <c>*_gtFine_labelIds.png</c> to the 19 train ids (7→0 road, 8→1 sidewalk, 11→2
    /// building, ..., 33→18 bicycle); every other defined id (0–6, 9, 10, 14–16, 18, 29, 30) → 255; the license plate
    /// (id -1, stored as 255 in an 8-bit file) → 255; ids 34–254 are invalid. Palette: the benchmark's colours.
    /// </summary>
    public static LabelMap Cityscapes { get; } = BuildCityscapes();

    /// <summary>
    /// CamVid (SegNet tutorial): ids 0–10 are the 11 classes (Sky, Building, Pole, Road, Sidewalk, Tree, SignSymbol,
    /// Fence, Car, Pedestrian, Bicyclist), 11 (void) → 255; any other id is invalid.
    /// </summary>
    public static LabelMap CamVid { get; } = BuildCamVid();

    private static LabelMap BuildCityscapes()
    {
        var table = Enumerable.Repeat(-1, 256).ToArray();
        foreach (var label in CityscapesLabel.All)
            table[label.Id < 0 ? 255 : label.Id] = label.TrainId;
        var train = CityscapesLabel.All.Where(l => l.TrainId != 255 && l.Id >= 0).OrderBy(l => l.TrainId).ToArray();
        return new LabelMap("Cityscapes", table, train.Select(l => l.Name).ToArray(), train.Select(l => l.Color).ToArray());
    }

    private static LabelMap BuildCamVid()
    {
        string[] names = { "Sky", "Building", "Pole", "Road", "Sidewalk", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist" };
        Rgb[] colours =
        {
            new(128, 128, 128), new(128, 0, 0), new(192, 192, 128), new(128, 64, 128), new(60, 40, 222), new(128, 128, 0),
            new(192, 128, 128), new(64, 64, 128), new(64, 0, 128), new(64, 64, 0), new(0, 128, 192),
        };
        var table = new int[12];
        for (int k = 0; k < 11; k++) table[k] = k;
        table[11] = 255;
        return new LabelMap("CamVid", table, names, colours);
    }
}

/// <summary>One of the Cityscapes labels (the benchmark's label definitions).</summary>
/// <param name="Name">Label name.</param>
/// <param name="Id">Id stored in <c>*_labelIds.png</c> (-1: license plate, never stored as such).</param>
/// <param name="TrainId">Train id (0–18) or 255 (ignored in training and evaluation).</param>
/// <param name="Category">Category name (flat, construction, object, nature, sky, human, vehicle, void).</param>
/// <param name="Color">The colour of <c>*_color.png</c>.</param>
public sealed record CityscapesLabel(string Name, int Id, int TrainId, string Category, Rgb Color)
{
    /// <summary>All 35 labels, by id.</summary>
    public static IReadOnlyList<CityscapesLabel> All { get; } = new CityscapesLabel[]
    {
        new("unlabeled", 0, 255, "void", new(0, 0, 0)),
        new("ego vehicle", 1, 255, "void", new(0, 0, 0)),
        new("rectification border", 2, 255, "void", new(0, 0, 0)),
        new("out of roi", 3, 255, "void", new(0, 0, 0)),
        new("static", 4, 255, "void", new(0, 0, 0)),
        new("dynamic", 5, 255, "void", new(111, 74, 0)),
        new("ground", 6, 255, "void", new(81, 0, 81)),
        new("road", 7, 0, "flat", new(128, 64, 128)),
        new("sidewalk", 8, 1, "flat", new(244, 35, 232)),
        new("parking", 9, 255, "flat", new(250, 170, 160)),
        new("rail track", 10, 255, "flat", new(230, 150, 140)),
        new("building", 11, 2, "construction", new(70, 70, 70)),
        new("wall", 12, 3, "construction", new(102, 102, 156)),
        new("fence", 13, 4, "construction", new(190, 153, 153)),
        new("guard rail", 14, 255, "construction", new(180, 165, 180)),
        new("bridge", 15, 255, "construction", new(150, 100, 100)),
        new("tunnel", 16, 255, "construction", new(150, 120, 90)),
        new("pole", 17, 5, "object", new(153, 153, 153)),
        new("polegroup", 18, 255, "object", new(153, 153, 153)),
        new("traffic light", 19, 6, "object", new(250, 170, 30)),
        new("traffic sign", 20, 7, "object", new(220, 220, 0)),
        new("vegetation", 21, 8, "nature", new(107, 142, 35)),
        new("terrain", 22, 9, "nature", new(152, 251, 152)),
        new("sky", 23, 10, "sky", new(70, 130, 180)),
        new("person", 24, 11, "human", new(220, 20, 60)),
        new("rider", 25, 12, "human", new(255, 0, 0)),
        new("car", 26, 13, "vehicle", new(0, 0, 142)),
        new("truck", 27, 14, "vehicle", new(0, 0, 70)),
        new("bus", 28, 15, "vehicle", new(0, 60, 100)),
        new("caravan", 29, 255, "vehicle", new(0, 0, 90)),
        new("trailer", 30, 255, "vehicle", new(0, 0, 110)),
        new("train", 31, 16, "vehicle", new(0, 80, 100)),
        new("motorcycle", 32, 17, "vehicle", new(0, 0, 230)),
        new("bicycle", 33, 18, "vehicle", new(119, 11, 32)),
        new("license plate", -1, 255, "vehicle", new(0, 0, 142)),
    };

    /// <summary>The label with stored id <paramref name="id"/>.</summary>
    public static CityscapesLabel ById(int id) => All.First(l => l.Id == id);
}
