using FastSeg.Models.Zoo;
using Xunit;

namespace FastSeg.Models.Tests.Networks;

public class CANetTests : ModelTestBase
{
    protected override string ModelName => "canet";

    [Fact]
    public void ActivationsTheReferenceCannotBuildInPlaceAreRefused()
    {
        // The reference passes inplace=True with act_type; nn.PReLU(inplace=True) raises there.
        var ex = Assert.Throws<ArgumentException>(() => ModelZoo.Create("canet", options: new Dictionary<string, string> { ["act_type"] = "prelu" }));
        Assert.Contains("valid values: relu", ex.Message);
    }
}
