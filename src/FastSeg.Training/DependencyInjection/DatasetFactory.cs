using FastSeg.Data;
using Microsoft.Extensions.Options;

namespace FastSeg.Training.DependencyInjection;

/// <summary>The dataset layouts <see cref="ISegmentationDatasetFactory"/> reads.</summary>
public enum DatasetKind
{
    /// <summary><see cref="CityscapesDataset"/> under <see cref="DatasetFactoryOptions.Root"/>.</summary>
    Cityscapes,
    /// <summary><see cref="CamVidDataset"/> under <see cref="DatasetFactoryOptions.Root"/>.</summary>
    CamVid,
    /// <summary><see cref="MapillaryDataset"/> under <see cref="DatasetFactoryOptions.Root"/>.</summary>
    Mapillary,
    /// <summary><see cref="FileListDataset"/>: one list file per split (<see cref="DatasetFactoryOptions.Lists"/>), paths relative to the root.</summary>
    FileList,
    /// <summary><see cref="FolderDataset"/>: an image folder and a mask folder per split (<see cref="DatasetFactoryOptions.Folders"/>).</summary>
    Folder,
    /// <summary>Generated street scenes in the Cityscapes layout (<see cref="SyntheticCityscapes"/>), written under the root
    /// when it holds no <c>leftImg8bit</c> folder yet, then read as Cityscapes.</summary>
    Synthetic,
}

/// <summary>The image and mask folders of one split of a <see cref="DatasetKind.Folder"/> dataset.</summary>
public sealed class FolderSplitOptions
{
    /// <summary>The images (relative paths are taken from <see cref="DatasetFactoryOptions.Root"/>, when set).</summary>
    public string? Images { get; set; }

    /// <summary>The masks; null for an unlabelled split.</summary>
    public string? Masks { get; set; }

    /// <summary>Added to an image's stem to name its mask (e.g. <c>_mask</c>).</summary>
    public string MaskSuffix { get; set; } = "";
}

/// <summary>
/// Which dataset <see cref="ISegmentationDatasetFactory"/> creates, bound from configuration (<c>FastSeg:Data</c>), e.g.
/// <c>{ "Kind": "cityscapes", "Root": "data/cityscapes" }</c> or
/// <c>{ "Kind": "synthetic", "Root": "data/synthetic", "Synthetic": { "Width": 512, "Height": 256, "TrainCount": 8 } }</c>.
/// </summary>
public sealed class DatasetFactoryOptions
{
    /// <summary>The layout.</summary>
    public DatasetKind Kind { get; set; } = DatasetKind.Cityscapes;

    /// <summary>The dataset root (required by every kind but Folder).</summary>
    public string? Root { get; set; }

    /// <summary>Cityscapes annotation folder: gtFine or gtCoarse.</summary>
    public string Annotation { get; set; } = "gtFine";

    /// <summary>Label map of FileList, Folder and Mapillary datasets: cityscapes (label ids → 19 train ids), camvid, or identity
    /// (the files hold train ids 0..NumClasses-1 and IgnoreIndex). Default: identity for Folder, cityscapes otherwise.</summary>
    public string? Labels { get; set; }

    /// <summary>Classes of the identity label map.</summary>
    public int NumClasses { get; set; } = 19;

    /// <summary>Ignore index of the identity label map.</summary>
    public int IgnoreIndex { get; set; } = 255;

    /// <summary>FileList: the list file of each split (e.g. <c>"train": "list/train.txt"</c>; relative to the root).</summary>
    public Dictionary<string, string> Lists { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>FileList: repeat the list up to this many samples (Fast_Seg's max_iters); null for once.</summary>
    public int? MaxSamples { get; set; }

    /// <summary>Folder: the folders of each split.</summary>
    public Dictionary<string, FolderSplitOptions> Folders { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Mapillary: the label folder name.</summary>
    public string MapillaryLabelFolder { get; set; } = "seg19_lbl";

    /// <summary>What to do with unusable samples.</summary>
    public InvalidSamplePolicy InvalidSamples { get; set; } = InvalidSamplePolicy.Throw;

    /// <summary>Synthetic: the generated scenes (size, count per split, seed).</summary>
    public SyntheticCityscapesOptions Synthetic { get; set; } = new();
}

/// <summary>Creates the configured dataset's splits; the caller owns each dataset.</summary>
public interface ISegmentationDatasetFactory
{
    /// <summary>The configured dataset (current values).</summary>
    DatasetFactoryOptions Options { get; }

    /// <summary>The split (train, val, test, ...) of the configured dataset, with <paramref name="transform"/> attached.</summary>
    /// <exception cref="InvalidOperationException">A setting the kind needs is missing (the message names its key).</exception>
    SegmentationDataset Create(string split, Transform? transform = null);
}

/// <summary><see cref="ISegmentationDatasetFactory"/> over the FastSeg.Data datasets.</summary>
internal sealed class SegmentationDatasetFactory(IOptionsMonitor<DatasetFactoryOptions> options, FastSegSections sections) : ISegmentationDatasetFactory
{
    private readonly Lock _generateLock = new();

    public DatasetFactoryOptions Options => options.CurrentValue;

    public SegmentationDataset Create(string split, Transform? transform = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(split);
        var o = Options;
        SegmentationDataset dataset = o.Kind switch
        {
            DatasetKind.Cityscapes => new CityscapesDataset(RequireRoot(o), split, o.Annotation, invalidSamples: o.InvalidSamples),
            DatasetKind.CamVid => new CamVidDataset(RequireRoot(o), split, o.InvalidSamples),
            DatasetKind.Mapillary => new MapillaryDataset(RequireRoot(o), split, LabelMapOf(o, LabelMap.Cityscapes), o.MapillaryLabelFolder, o.InvalidSamples),
            DatasetKind.FileList => CreateFileList(o, split),
            DatasetKind.Folder => CreateFolder(o, split),
            DatasetKind.Synthetic => CreateSynthetic(o, split),
            _ => throw new InvalidOperationException($"{Key(nameof(o.Kind))}: unknown kind '{o.Kind}'; valid kinds: {string.Join(", ", Enum.GetNames<DatasetKind>())}"),
        };
        dataset.Transform = transform;
        return dataset;
    }

    private string Key(string key) => FastSegSections.Key(sections.Data, key);

    private string RequireRoot(DatasetFactoryOptions o) =>
        !string.IsNullOrWhiteSpace(o.Root) ? o.Root
            : throw new InvalidOperationException($"{Key(nameof(o.Root))} is not set; the {o.Kind} dataset needs its root folder");

    private LabelMap LabelMapOf(DatasetFactoryOptions o, LabelMap fallback) => o.Labels?.ToLowerInvariant() switch
    {
        null or "" => fallback,
        "cityscapes" => LabelMap.Cityscapes,
        "camvid" => LabelMap.CamVid,
        "identity" => LabelMap.Identity(o.NumClasses, o.IgnoreIndex),
        _ => throw new InvalidOperationException($"{Key(nameof(o.Labels))}: unknown label map '{o.Labels}'; valid maps: cityscapes, camvid, identity"),
    };

    private string UnderRoot(DatasetFactoryOptions o, string path) =>
        o.Root is null || Path.IsPathRooted(path) ? path : Path.Combine(o.Root, path);

    private FileListDataset CreateFileList(DatasetFactoryOptions o, string split)
    {
        if (!o.Lists.TryGetValue(split, out var list) || string.IsNullOrWhiteSpace(list))
            throw new InvalidOperationException(
                $"{Key($"{nameof(o.Lists)}:{split}")} is not set; configured splits: {Describe(o.Lists.Keys)}");
        string root = RequireRoot(o);
        return new FileListDataset(root, UnderRoot(o, list), LabelMapOf(o, LabelMap.Cityscapes), o.MaxSamples, o.InvalidSamples);
    }

    private FolderDataset CreateFolder(DatasetFactoryOptions o, string split)
    {
        if (!o.Folders.TryGetValue(split, out var folders) || string.IsNullOrWhiteSpace(folders.Images))
            throw new InvalidOperationException(
                $"{Key($"{nameof(o.Folders)}:{split}:{nameof(FolderSplitOptions.Images)}")} is not set; configured splits: {Describe(o.Folders.Keys)}");
        var labels = LabelMapOf(o, LabelMap.Identity(o.NumClasses, o.IgnoreIndex));
        return new FolderDataset(UnderRoot(o, folders.Images), folders.Masks is null ? null : UnderRoot(o, folders.Masks),
            labels.NumClasses, labels, folders.MaskSuffix, labels.IgnoreIndex, o.InvalidSamples);
    }

    private CityscapesDataset CreateSynthetic(DatasetFactoryOptions o, string split)
    {
        string root = RequireRoot(o);
        // Generated once: the first split asked for writes every split, so train and val come from one consistent set.
        lock (_generateLock)
        {
            if (!Directory.Exists(Path.Combine(root, "leftImg8bit")))
                SyntheticCityscapes.Generate(root, o.Synthetic);
        }
        return new CityscapesDataset(root, split, invalidSamples: o.InvalidSamples);
    }

    private static string Describe(IEnumerable<string> keys)
    {
        var list = keys.ToList();
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }
}
