using FastSeg.Models.Zoo;
using Xunit;

namespace FastSeg.Models.Tests.Networks;

public class LiteHRNetTests : ModelTestBase
{
    protected override string ModelName => "litehrnet";

    /// <summary>The reference halves channels with integer division, so an odd base_ch is refused before building.</summary>
    [Fact]
    public void OddBaseChannelsAreRefusedUpFront()
    {
        var ex = Assert.Throws<ArgumentException>(() => ModelZoo.Create("litehrnet", options: new Dictionary<string, string> { ["base_ch"] = "41" }));
        Assert.Contains("litehrnet", ex.Message);
        Assert.Contains("even integer", ex.Message);
    }
}
