using Xunit;

namespace FastSeg.Data.Tests;

[Collection("cityscapes")]
public class DatasetTests
{
    private readonly CityscapesFixture _data;

    public DatasetTests(CityscapesFixture data) => _data = data;

    private static readonly int[] GeneratedIds = { 1, 7, 8, 11, 17, 20, 21, 22, 23, 24, 26 };

    [Fact]
    public void GeneratorWritesTheCityscapesLayoutWithRealLabelIds()
    {
        Assert.Equal(12, _data.Files.Count);
        var first = _data.Files[0];
        Assert.Equal("aachen_000000_000019", first.Id);
        Assert.Equal(Path.Combine(_data.Root, "leftImg8bit", "train", "aachen", "aachen_000000_000019_leftImg8bit.png"), first.ImagePath);
        Assert.Equal(Path.Combine(_data.Root, "gtFine", "train", "aachen", "aachen_000000_000019_gtFine_labelIds.png"), first.MaskPath);
        Assert.All(_data.Files.Where(f => f.ImagePath.Contains("/test/")), f => Assert.Null(f.MaskPath));
        var seen = new HashSet<int>();
        foreach (var f in _data.Files.Where(f => f.MaskPath is not null))
        {
            using var ids = Image.Read(f.MaskPath!, ImageReadMode.Label);
            Assert.Equal((128, 64, ImageDepth.UInt8), (ids.Width, ids.Height, ids.Depth));
            var h = ids.Histogram();
            for (int v = 0; v < 256; v++)
                if (h[v] > 0) seen.Add(v);
        }
        Assert.Subset(GeneratedIds.ToHashSet(), seen);
        Assert.Contains(7, seen);
        Assert.Contains(23, seen);
        Assert.Contains(26, seen);

        // Same seed, same files.
        var again = TestData.NewTempDir("again");
        var files = SyntheticCityscapes.Generate(again, new SyntheticCityscapesOptions { Width = 128, Height = 64, TrainCount = 1, ValCount = 0, Seed = 7, PngCompression = 1 });
        Assert.Equal(File.ReadAllBytes(first.ImagePath), File.ReadAllBytes(files[0].ImagePath));
        Directory.Delete(again, true);
    }

    [Fact]
    public void CityscapesLoadsSplitsAndMapsToTrainIds()
    {
        var train = new CityscapesDataset(_data.Root, "train");
        Assert.Equal(8, train.Count);
        Assert.Equal(19, train.NumClasses);
        Assert.Equal("aachen_000000_000019", train.GetId(0));
        // Ordered by city, then name.
        Assert.Equal(train.Files.Select(f => f.ImagePath).OrderBy(p => p, StringComparer.Ordinal), train.Files.Select(f => f.ImagePath));
        using var s = train.Get(0, 0);
        using var stored = Image.Read(train.Files[0].MaskPath!, ImageReadMode.Label);
        var raw = stored.Pixels.ToArray();
        var mapped = s.Mask!.Pixels.ToArray();
        for (int i = 0; i < raw.Length; i++) Assert.Equal(LabelMap.Cityscapes[raw[i]], mapped[i]);
        Assert.Contains((byte)0, mapped);   // road
        Assert.Contains((byte)10, mapped);  // sky
        Assert.Equal((128, 64, 3), (s.Image.Width, s.Image.Height, s.Image.Channels));

        var val = new CityscapesDataset(_data.Root, "val");
        Assert.Equal(2, val.Count);
        var test = new CityscapesDataset(_data.Root, "test");
        Assert.Equal(2, test.Count);
        using var t = test.Get(0, 0);
        Assert.False(t.HasMask);
    }

    [Fact]
    public void MissingSplitAndEmptySplitFoldersAreClearErrors()
    {
        var e1 = Assert.Throws<DirectoryNotFoundException>(() => new CityscapesDataset(_data.Root, "nosuchsplit"));
        Assert.Contains(Path.Combine(_data.Root, "leftImg8bit", "nosuchsplit"), e1.Message);
        var root = TestData.NewTempDir("empty");
        Directory.CreateDirectory(Path.Combine(root, "leftImg8bit", "train", "aachen"));
        var e2 = Assert.Throws<InvalidDataException>(() => new CityscapesDataset(root, "train"));
        Assert.Contains(Path.Combine(root, "leftImg8bit", "train"), e2.Message);
        Assert.Contains("no *_leftImg8bit.png images", e2.Message);
        Directory.CreateDirectory(Path.Combine(root, "images"));
        Assert.Throws<InvalidDataException>(() => new FolderDataset(Path.Combine(root, "images"), null, 3));
        Directory.Delete(root, true);
    }

    /// <summary>A copy of two generated train samples, to break on purpose.</summary>
    private string CopyOfTrain(int count = 3)
    {
        var root = TestData.NewTempDir("broken");
        foreach (var f in _data.Files.Where(f => f.ImagePath.Contains("/train/")).Take(count))
        {
            var img = f.ImagePath.Replace(_data.Root, root);
            var mask = f.MaskPath!.Replace(_data.Root, root);
            Directory.CreateDirectory(Path.GetDirectoryName(img)!);
            Directory.CreateDirectory(Path.GetDirectoryName(mask)!);
            File.Copy(f.ImagePath, img);
            File.Copy(f.MaskPath!, mask);
        }
        return root;
    }

    [Fact]
    public void AMissingMaskIsAnErrorOrASkipWithAWarning()
    {
        var root = CopyOfTrain();
        var victim = new CityscapesDataset(root, "train").Files[1];
        File.Delete(victim.MaskPath!);
        var e = Assert.Throws<InvalidSampleException>(() => new CityscapesDataset(root, "train"));
        Assert.Equal(victim.MaskPath, e.FilePath);
        Assert.Contains("missing", e.Message);
        Assert.Contains(victim.ImagePath, e.Message);

        var lenient = new CityscapesDataset(root, "train", invalidSamples: InvalidSamplePolicy.Skip);
        Assert.Equal(2, lenient.Count);
        Assert.Single(lenient.ScanWarnings);
        Assert.Contains(victim.Id, lenient.ScanWarnings[0]);
        Directory.Delete(root, true);
    }

    [Fact]
    public void TruncatedAndUnreadableImagesNameTheFile()
    {
        var root = CopyOfTrain();
        var ds = new CityscapesDataset(root, "train");
        var bytes = File.ReadAllBytes(ds.Files[0].ImagePath);
        File.WriteAllBytes(ds.Files[0].ImagePath, bytes[..(bytes.Length * 2 / 3)]);
        File.WriteAllText(ds.Files[1].ImagePath, "this is not a png");
        var e = Assert.Throws<InvalidSampleException>(() => ds.Get(0, 0));
        Assert.Equal(ds.Files[0].ImagePath, e.FilePath);
        Assert.Contains("truncated PNG", e.Message);
        e = Assert.Throws<InvalidSampleException>(() => ds.Get(1, 0));
        Assert.Equal(ds.Files[1].ImagePath, e.FilePath);
        Assert.Contains("not a readable image", e.Message);
        using var fine = ds.Get(2, 0);
        Assert.True(fine.HasMask);
        Directory.Delete(root, true);
    }

    [Fact]
    public void AMaskOfAnotherSizeIsRejected()
    {
        var root = CopyOfTrain();
        var ds = new CityscapesDataset(root, "train");
        using (var small = Image.FromPixels(new byte[64 * 32], 64, 32, 1)) small.Save(ds.Files[0].MaskPath!);
        var e = Assert.Throws<InvalidSampleException>(() => ds.Get(0, 0));
        Assert.Equal(ds.Files[0].MaskPath, e.FilePath);
        Assert.Contains("the mask is 64x32 but its image", e.Message);
        Assert.Contains("128x64", e.Message);
        Directory.Delete(root, true);
    }

    [Fact]
    public void IdsOutsideTheMappingAreRejectedNeverSilentlyIgnored()
    {
        var root = CopyOfTrain();
        var ds = new CityscapesDataset(root, "train");
        using (var stored = Image.Read(ds.Files[0].MaskPath!, ImageReadMode.Label))
        {
            var px = stored.Pixels.ToArray();
            px[5] = 40;
            px[6] = 40;
            px[100] = 77;
            using var bad = Image.FromPixels(px, stored.Width, stored.Height, 1);
            bad.Save(ds.Files[0].MaskPath!);
        }
        var e = Assert.Throws<InvalidSampleException>(() => ds.Get(0, 0));
        Assert.Equal(ds.Files[0].MaskPath, e.FilePath);
        Assert.Contains("ids 40, 77 (3 pixels) are not in the Cityscapes label map", e.Message);

        // With the skip policy the loader drops the sample, counts it and warns.
        var warnings = new List<string>();
        var lenient = new CityscapesDataset(root, "train", invalidSamples: InvalidSamplePolicy.Skip) { Warning = warnings.Add };
        var loader = new DataLoader(lenient, batchSize: 2);
        var batches = loader.ToList();
        Assert.Equal(new[] { 1, 1 }, batches.Select(b => b.Count));
        Assert.DoesNotContain(lenient.GetId(0), batches.SelectMany(b => b.Ids));
        Assert.Equal(1, loader.SkippedSamples);
        Assert.Contains(warnings, w => w.Contains(lenient.GetId(0)) && w.Contains("ids 40, 77"));
        Assert.Contains(warnings, w => w.Contains("1 unusable sample was skipped"));
        foreach (var b in batches) b.Dispose();
        Directory.Delete(root, true);
    }

    [Fact]
    public void FileListsFollowFastSegsFormat()
    {
        var list = Path.Combine(TestData.NewTempDir("lists"), "train.txt");
        var train = _data.Files.Where(f => f.ImagePath.Contains("/train/")).Take(3).ToList();
        string Rel(string p) => Path.GetRelativePath(_data.Root, p);
        File.WriteAllLines(list, new[]
        {
            $"{Rel(train[0].ImagePath)}\t{Rel(train[0].MaskPath!)}",
            $"{Rel(train[1].ImagePath)}  {Rel(train[1].MaskPath!)}",
            "",
            $"{Rel(train[2].ImagePath)}\t{Rel(train[2].MaskPath!)}",
        });
        var ds = FileListDataset.Cityscapes(_data.Root, list);
        Assert.Equal(3, ds.Count);
        Assert.Equal(train[1].Id, ds.GetId(1));
        using (var s = ds.Get(1, 0)) Assert.True(s.HasMask);
        var repeated = FileListDataset.Cityscapes(_data.Root, list, maxSamples: 7);
        Assert.Equal(9, repeated.Count);

        var testList = Path.Combine(Path.GetDirectoryName(list)!, "test.txt");
        File.WriteAllLines(testList, _data.Files.Where(f => f.MaskPath is null).Select(f => Rel(f.ImagePath)));
        var test = FileListDataset.Cityscapes(_data.Root, testList);
        using (var s = test.Get(0, 0)) Assert.False(s.HasMask);

        File.WriteAllLines(list, new[] { "a b c" });
        Assert.Contains("train.txt:1", Assert.Throws<InvalidDataException>(() => FileListDataset.Cityscapes(_data.Root, list)).Message);
        Directory.Delete(Path.GetDirectoryName(list)!, true);
    }

    [Fact]
    public void CamVidMapillaryAndFolderLayoutsLoad()
    {
        var root = TestData.NewTempDir("layouts");
        var files = _data.Files.Where(f => f.MaskPath is not null).Take(3).ToList();
        // CamVid: ids 0..11 (11 = void).
        Directory.CreateDirectory(Path.Combine(root, "camvid", "train"));
        Directory.CreateDirectory(Path.Combine(root, "camvid", "trainannot"));
        for (int k = 0; k < 2; k++)
        {
            File.Copy(files[k].ImagePath, Path.Combine(root, "camvid", "train", $"0001TP_{k:D6}.png"));
            using var m = TestData.Blocks(128, 64, 8, 12);
            m.Save(Path.Combine(root, "camvid", "trainannot", $"0001TP_{k:D6}.png"));
        }
        var camvid = new CamVidDataset(Path.Combine(root, "camvid"), "train");
        Assert.Equal(2, camvid.Count);
        using (var s = camvid.Get(0, 0))
        {
            var h = s.Mask!.Histogram();
            Assert.Equal(0, h[11]);
            Assert.True(h[255] > 0);
        }

        // Mapillary as Fast_Seg reads it: training/images (*.jpg) and training/seg19_lbl (*.png), by stem.
        Directory.CreateDirectory(Path.Combine(root, "mapillary", "training", "images"));
        Directory.CreateDirectory(Path.Combine(root, "mapillary", "training", "seg19_lbl"));
        for (int k = 0; k < 2; k++)
        {
            using var img = Image.Read(files[k].ImagePath);
            img.Save(Path.Combine(root, "mapillary", "training", "images", $"m{k}.jpg"), 90);
            File.Copy(files[k].MaskPath!, Path.Combine(root, "mapillary", "training", "seg19_lbl", $"m{k}.png"));
        }
        var mapillary = new MapillaryDataset(Path.Combine(root, "mapillary"), "train");
        Assert.Equal(new[] { "m0", "m1" }, Enumerable.Range(0, 2).Select(mapillary.GetId));
        using (var s = mapillary.Get(1, 0)) Assert.Equal(128, s.Width);
        Assert.Throws<DirectoryNotFoundException>(() => new MapillaryDataset(Path.Combine(root, "mapillary"), "val"));

        // Folder: masks by stem with a suffix, ids mapped by a custom table.
        Directory.CreateDirectory(Path.Combine(root, "folder", "img"));
        Directory.CreateDirectory(Path.Combine(root, "folder", "ann"));
        File.Copy(files[0].ImagePath, Path.Combine(root, "folder", "img", "a.png"));
        File.Copy(files[0].MaskPath!, Path.Combine(root, "folder", "ann", "a_mask.png"));
        File.Copy(files[1].ImagePath, Path.Combine(root, "folder", "img", "b.png"));
        var lenient = new FolderDataset(Path.Combine(root, "folder", "img"), Path.Combine(root, "folder", "ann"), 19, LabelMap.Cityscapes, "_mask",
            invalidSamples: InvalidSamplePolicy.Skip) { Warning = null };
        Assert.Equal(1, lenient.Count);
        Assert.Contains("b_mask.png", lenient.ScanWarnings.Single());
        var strictIdentity = new FolderDataset(Path.Combine(root, "folder", "img"), null, 3);
        Assert.Equal(2, strictIdentity.Count);
        using (var s = strictIdentity.Get(0, 0)) Assert.False(s.HasMask);
        var e = Assert.Throws<InvalidSampleException>(() => new FolderDataset(Path.Combine(root, "folder", "img"), Path.Combine(root, "folder", "ann"), 19, maskSuffix: "_mask"));
        Assert.Contains("b_mask.png", e.FilePath);
        // Identity mapping with 3 classes rejects the Cityscapes ids of a.png's mask.
        File.Delete(Path.Combine(root, "folder", "img", "b.png"));
        var identity = new FolderDataset(Path.Combine(root, "folder", "img"), Path.Combine(root, "folder", "ann"), 3, maskSuffix: "_mask");
        Assert.Contains("identity label map", Assert.Throws<InvalidSampleException>(() => identity.Get(0, 0)).Message);
        Directory.Delete(root, true);
    }
}
