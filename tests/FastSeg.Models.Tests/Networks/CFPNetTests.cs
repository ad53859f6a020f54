using FastSeg.Models.Zoo;
using Xunit;

namespace FastSeg.Models.Tests.Networks;

public class CFPNetTests : ModelTestBase
{
    protected override string ModelName => "cfpnet";

    [Fact]
    public void DilationsOfTheWrongLengthAreRejectedBeforeBuilding()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            ModelZoo.Create("cfpnet", options: new Dictionary<string, string> { ["n"] = "1", ["m"] = "3" }));
        Assert.Contains("cfpnet", e.Message);
        Assert.Contains("n + m = 4", e.Message);
    }
}
