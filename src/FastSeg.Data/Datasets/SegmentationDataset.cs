namespace FastSeg.Data;

/// <summary>What a dataset does with an unusable sample (missing mask, unreadable image, size mismatch, unknown ids).</summary>
public enum InvalidSamplePolicy
{
    /// <summary>Throw <see cref="InvalidSampleException"/> naming the file and the problem (the default).</summary>
    Throw,
    /// <summary>
    /// Leave the sample out and report it through <see cref="SegmentationDataset.Warning"/>: at scan time (missing masks)
    /// the dataset drops it, at load time the <see cref="DataLoader"/> drops it from its batch and counts it.
    /// Direct indexing still throws.
    /// </summary>
    Skip,
}

/// <summary>A sample cannot be used. The message names the file and the problem.</summary>
public class InvalidSampleException : Exception
{
    /// <summary>Creates the exception.</summary>
    public InvalidSampleException(string filePath, string problem, Exception? inner = null)
        : base($"{filePath}: {problem}", inner)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file at fault.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}

/// <summary>The files of one sample.</summary>
/// <param name="Id">Sample id (usually the file stem).</param>
/// <param name="ImagePath">The image file.</param>
/// <param name="MaskPath">The label file, or null for unlabelled samples.</param>
public sealed record SampleFiles(string Id, string ImagePath, string? MaskPath);

/// <summary>
/// An indexable collection of segmentation samples (image, mask, id). Loading decodes the files, maps the stored label
/// ids to train ids, checks the sample, then applies <see cref="Transform"/>. Subclass it (override
/// <see cref="Count"/>, <see cref="GetId"/> and <see cref="LoadRaw"/>) for custom sources.
/// </summary>
public abstract class SegmentationDataset
{
    /// <summary>Number of samples.</summary>
    public abstract int Count { get; }

    /// <summary>The id of sample <paramref name="index"/> (no decoding).</summary>
    public abstract string GetId(int index);

    /// <summary>Decodes sample <paramref name="index"/> and maps its labels, without augmentation.</summary>
    /// <exception cref="InvalidSampleException">The sample is unusable.</exception>
    protected abstract Sample LoadRaw(int index);

    /// <summary>The augmentation applied by <see cref="Get(int, DataRandom)"/> (null: none).</summary>
    public Transform? Transform { get; set; }

    /// <summary>The label map (class names, palette, ignore index), or null when the dataset has none.</summary>
    public LabelMap? Labels { get; protected init; }

    /// <summary>Number of classes.</summary>
    public int NumClasses => Labels?.NumClasses ?? 0;

    /// <summary>The label ignored by losses and metrics.</summary>
    public int IgnoreIndex => Labels?.IgnoreIndex ?? 255;

    /// <summary>What happens to unusable samples.</summary>
    public InvalidSamplePolicy InvalidSamples { get; init; } = InvalidSamplePolicy.Throw;

    /// <summary>Receives warnings about skipped samples (default: standard error).</summary>
    public Action<string>? Warning { get; set; } = message => Console.Error.WriteLine("warning: " + message);

    /// <summary>Warnings raised while the dataset was scanned (for example masks that were missing and skipped).</summary>
    public IReadOnlyList<string> ScanWarnings => _scanWarnings;

    private readonly List<string> _scanWarnings = new();

    /// <summary>Records and forwards a warning.</summary>
    protected internal void Warn(string message)
    {
        Warning?.Invoke(message);
    }

    /// <summary>Records a warning raised while scanning.</summary>
    protected void WarnScan(string message)
    {
        _scanWarnings.Add(message);
        Warn(message);
    }

    /// <summary>Loads sample <paramref name="index"/> and applies <see cref="Transform"/> with <paramref name="random"/>.</summary>
    public Sample Get(int index, DataRandom random)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"the dataset has {Count} samples");
        var sample = LoadRaw(index);
        try
        {
            Transform?.Apply(sample, random);
            return sample;
        }
        catch
        {
            sample.Dispose();
            throw;
        }
    }

    /// <summary>Loads sample <paramref name="index"/>, augmenting with a generator seeded by <paramref name="seed"/>.</summary>
    public Sample Get(int index, long seed) => Get(index, new DataRandom(seed));

    /// <summary>Loads sample <paramref name="index"/> (augmentation unseeded). The caller disposes it.</summary>
    public Sample this[int index] => Get(index, DataRandom.CreateUnseeded());
}

/// <summary>
/// A dataset over a list of (image file, mask file) pairs: decodes the image as RGB and the mask as stored ids, checks
/// that the sizes agree, maps the ids through <see cref="SegmentationDataset.Labels"/> and rejects ids outside it.
/// </summary>
public class FileSegmentationDataset : SegmentationDataset
{
    private readonly List<SampleFiles> _files;

    /// <summary>Creates the dataset over <paramref name="files"/>.</summary>
    /// <param name="files">The samples.</param>
    /// <param name="labels">Maps stored ids to train ids; required when any sample has a mask.</param>
    /// <param name="invalidSamples">What to do with unusable samples.</param>
    /// <param name="checkFiles">Check now that every file exists (missing masks follow <paramref name="invalidSamples"/>).</param>
    public FileSegmentationDataset(IEnumerable<SampleFiles> files, LabelMap? labels,
        InvalidSamplePolicy invalidSamples = InvalidSamplePolicy.Throw, bool checkFiles = true)
    {
        ArgumentNullException.ThrowIfNull(files);
        InvalidSamples = invalidSamples;
        Labels = labels;
        _files = checkFiles ? CheckFiles(files).ToList() : files.ToList();
        if (_files.Any(f => f.MaskPath is not null) && labels is null)
            throw new ArgumentException("the samples have masks, so a label map is needed (LabelMap.Identity(n) for masks that already hold train ids)", nameof(labels));
    }

    /// <summary>Creates an empty dataset; subclasses fill it with <see cref="SetFiles"/>.</summary>
    protected FileSegmentationDataset(LabelMap? labels, InvalidSamplePolicy invalidSamples)
    {
        Labels = labels;
        InvalidSamples = invalidSamples;
        _files = new List<SampleFiles>();
    }

    /// <summary>Sets the samples after checking that their files exist.</summary>
    protected void SetFiles(IEnumerable<SampleFiles> files, string source)
    {
        _files.Clear();
        _files.AddRange(CheckFiles(files));
        if (_files.Count == 0)
            throw new InvalidDataException($"{source}: no usable samples" + (ScanWarnings.Count > 0 ? $" ({ScanWarnings.Count} skipped, see the warnings)" : ""));
    }

    private IEnumerable<SampleFiles> CheckFiles(IEnumerable<SampleFiles> files)
    {
        foreach (var f in files)
        {
            if (!File.Exists(f.ImagePath))
            {
                var problem = "image file not found";
                if (InvalidSamples == InvalidSamplePolicy.Throw) throw new InvalidSampleException(f.ImagePath, problem);
                WarnScan($"skipped sample {f.Id}: {f.ImagePath}: {problem}");
                continue;
            }
            if (f.MaskPath is not null && !File.Exists(f.MaskPath))
            {
                var problem = $"the mask of image {f.ImagePath} is missing (expected {f.MaskPath})";
                if (InvalidSamples == InvalidSamplePolicy.Throw) throw new InvalidSampleException(f.MaskPath, problem);
                WarnScan($"skipped sample {f.Id}: {f.MaskPath}: {problem}");
                continue;
            }
            yield return f;
        }
    }

    /// <summary>The files of every sample, in order.</summary>
    public IReadOnlyList<SampleFiles> Files => _files;

    /// <inheritdoc />
    public override int Count => _files.Count;

    /// <inheritdoc />
    public override string GetId(int index) => _files[index].Id;

    /// <inheritdoc />
    protected override Sample LoadRaw(int index)
    {
        var f = _files[index];
        Image image;
        try
        {
            image = Image.Read(f.ImagePath, ImageReadMode.Color);
        }
        catch (ImageException e)
        {
            throw new InvalidSampleException(f.ImagePath, Strip(e.Message, f.ImagePath), e);
        }
        if (f.MaskPath is null) return new Sample(image, null, f.Id, index);
        Image? mapped = null;
        try
        {
            Image stored;
            try
            {
                stored = Image.Read(f.MaskPath, ImageReadMode.Label);
            }
            catch (ImageException e)
            {
                throw new InvalidSampleException(f.MaskPath, Strip(e.Message, f.MaskPath), e);
            }
            using (stored)
            {
                if (stored.Width != image.Width || stored.Height != image.Height)
                    throw new InvalidSampleException(f.MaskPath,
                        $"the mask is {stored.Width}x{stored.Height} but its image {f.ImagePath} is {image.Width}x{image.Height}");
                var mapping = Labels!.Apply(stored);
                mapped = mapping.Mask;
                if (!mapping.IsValid)
                    throw new InvalidSampleException(f.MaskPath, mapping.Describe(Labels.Name));
            }
            return new Sample(image, mapped, f.Id, index);
        }
        catch
        {
            image.Dispose();
            mapped?.Dispose();
            throw;
        }
    }

    private static string Strip(string message, string path) =>
        message.StartsWith(path + ": ", StringComparison.Ordinal) ? message[(path.Length + 2)..] : message;
}
