using FastSeg.Models.Zoo;
using Xunit;

namespace FastSeg.Models.Tests.Networks;

public class FDDWNetTests : ModelTestBase
{
    protected override string ModelName => "fddwnet";

    [Fact]
    public void EvenKernelSizesAreRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            ModelZoo.Create("fddwnet", options: new Dictionary<string, string> { ["ks"] = "4" }));
        Assert.Contains("fddwnet option 'ks'", ex.Message);
        Assert.Contains("odd", ex.Message);
    }
}
