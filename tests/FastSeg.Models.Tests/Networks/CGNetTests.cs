using FastSeg.Models.Zoo;
using Xunit;

namespace FastSeg.Models.Tests.Networks;

public class CGNetTests : ModelTestBase
{
    protected override string ModelName => "cgnet";

    [Theory]
    [InlineData("M")]
    [InlineData("N")]
    public void AStageWithoutBlocksIsRejected(string option)
    {
        var e = Assert.Throws<ArgumentException>(() =>
            ModelZoo.Create("cgnet", options: new Dictionary<string, string> { [option] = "1" }));
        Assert.Contains("cgnet", e.Message);
    }
}
