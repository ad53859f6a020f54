using FastSeg.Models.Zoo;
using Xunit;

namespace FastSeg.Models.Tests.Networks;

public class RegSegTests : ModelTestBase
{
    protected override string ModelName => "regseg";

    /// <summary>The reference takes exactly 13 (r1, r2) pairs; both spellings parse, a wrong count is refused up front.</summary>
    [Fact]
    public void DilationsAreThirteenPairs()
    {
        var info = ModelZoo.Describe("regseg");
        Assert.Equal("[[1,1],[1,2],[1,2],[1,3],[2,3],[2,7],[2,3],[2,6],[2,5],[2,9],[2,11],[4,7],[5,14]]", info.ValueOptions["dilations"].Default);
        Assert.Null(info.ValueOptions["dilations"].Check("1,1;1,1;1,1;1,2;1,2;1,2;2,4;2,4;2,4;3,6;3,6;3,6;4,8"));
        Assert.Null(info.ValueOptions["dilations"].Check("[(1, 1), (1, 2), (1, 2), (1, 3), (2, 3), (2, 7), (2, 3), (2, 6), (2, 5), (2, 9), (2, 11), (4, 7), (5, 14)]"));
        var ex = Assert.Throws<ArgumentException>(() => ModelZoo.Create("regseg", options: new Dictionary<string, string> { ["dilations"] = "[[1,1],[1,2]]" }));
        Assert.Contains("regseg", ex.Message);
        Assert.Contains("13", ex.Message);
        Assert.NotNull(info.ValueOptions["dilations"].Check("[1,2,3]"));
        Assert.NotNull(info.ValueOptions["dilations"].Check("[[0,1],[1,2],[1,2],[1,3],[2,3],[2,7],[2,3],[2,6],[2,5],[2,9],[2,11],[4,7],[5,14]]"));
    }
}
