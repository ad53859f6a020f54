using Xunit;

namespace FastSeg.Data.Tests;

public class LabelMapTests
{
    [Fact]
    public void CityscapesMapsTheThirtyFourIdsToNineteenTrainIds()
    {
        var map = LabelMap.Cityscapes;
        Assert.Equal(19, map.NumClasses);
        Assert.Equal(255, map.IgnoreIndex);
        var expected = new Dictionary<int, int>
        {
            [7] = 0, [8] = 1, [11] = 2, [12] = 3, [13] = 4, [17] = 5, [19] = 6, [20] = 7, [21] = 8, [22] = 9, [23] = 10,
            [24] = 11, [25] = 12, [26] = 13, [27] = 14, [28] = 15, [31] = 16, [32] = 17, [33] = 18,
        };
        for (int id = 0; id <= 33; id++) Assert.Equal(expected.TryGetValue(id, out var t) ? t : 255, map[id]);
        Assert.Equal(255, map[255]);           // the license plate (-1) as an 8-bit file stores it
        for (int id = 34; id < 255; id++) Assert.Equal(-1, map[id]);
        Assert.Equal("road", map.ClassNames[0]);
        Assert.Equal("bicycle", map.ClassNames[18]);
        Assert.Equal(new Rgb(128, 64, 128), map.Palette[0]);
        Assert.Equal(new Rgb(119, 11, 32), map.Palette[18]);
        Assert.Equal(26, map.StoredIdOf(13));
        Assert.Equal(35, CityscapesLabel.All.Count);
    }

    [Fact]
    public void CamVidHasElevenClassesAndVoidIsIgnored()
    {
        var map = LabelMap.CamVid;
        Assert.Equal(11, map.NumClasses);
        for (int id = 0; id < 11; id++) Assert.Equal(id, map[id]);
        Assert.Equal(255, map[11]);
        Assert.Equal(-1, map[12]);
        Assert.Equal("Bicyclist", map.ClassNames[10]);
    }

    [Fact]
    public void ApplyMapsInOnePassAndReportsInvalidIds()
    {
        var ids = new byte[] { 7, 8, 26, 0, 40, 40, 250, 255 };
        using var mask = Image.FromPixels(ids, 4, 2, 1);
        using var r = LabelMap.Cityscapes.Apply(mask);
        Assert.Equal(new byte[] { 0, 1, 13, 255, 255, 255, 255, 255 }, r.Mask.Pixels.ToArray());
        Assert.False(r.IsValid);
        Assert.Equal(3, r.InvalidPixels);
        Assert.Equal(new[] { 40, 250 }, r.InvalidIds);
        Assert.Contains("ids 40, 250 (3 pixels) are not in the Cityscapes label map", r.Describe("Cityscapes"));

        var wide = new ushort[] { 0, 1, 2, 1000 };
        using var mask16 = Image.FromPixels(wide, 2, 2, 1);
        using var r16 = LabelMap.Identity(3).Apply(mask16);
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, r16.Mask.Pixels.ToArray());
        Assert.Equal(new[] { 1000 }, r16.InvalidIds);
    }

    [Fact]
    public void IdentityAndPairsValidateTheirTables()
    {
        var id = LabelMap.Identity(4, ignoreIndex: 250);
        Assert.Equal((3, 250, -1, -1), (id[3], id[250], id[4], id[255]));
        var pairs = LabelMap.FromPairs(new Dictionary<int, int> { [10] = 0, [20] = 1 }, new[] { "a", "b" });
        Assert.Equal((0, 1, -1), (pairs[10], pairs[20], pairs[15]));
        var lenient = LabelMap.FromPairs(new Dictionary<int, int> { [10] = 0 }, new[] { "a" }, unlistedToIgnore: true);
        Assert.Equal(255, lenient[15]);
        Assert.Throws<ArgumentException>(() => new LabelMap("x", new[] { 0, 5 }, new[] { "a", "b" }));
        Assert.Throws<ArgumentException>(() => LabelMap.Identity(3, ignoreIndex: 2));
    }

    [Fact]
    public void ColorizeUsesThePalette()
    {
        using var mask = Image.FromPixels(new byte[] { 0, 10, 255 }, 3, 1, 1);
        using var colour = LabelMap.Cityscapes.Colorize(mask);
        Assert.Equal(new byte[] { 128, 64, 128, 70, 130, 180, 0, 0, 0 }, colour.Pixels.ToArray());
    }
}
