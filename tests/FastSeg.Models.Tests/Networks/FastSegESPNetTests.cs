using FastSeg.Models.Zoo;
using Xunit;

namespace FastSeg.Models.Tests.Networks;

public class FastSegESPNetTests : ModelTestBase
{
    protected override string ModelName => "fast_seg/espnet";

    [Fact]
    public void TheDecoderNeedsAtLeastFiveClassesAndPAndQArePositive()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ModelZoo.Create("fast_seg/espnet", numClasses: 4));
        Assert.Contains("at least 5 classes", ex.Message);
        var p = Assert.Throws<ArgumentException>(() => ModelZoo.Create("fast_seg/espnet", options: new Dictionary<string, string> { ["p"] = "0" }));
        Assert.Contains("'p'", p.Message);
        using var deeper = ModelZoo.Create("fast_seg/espnet", options: new Dictionary<string, string> { ["q"] = "8" });
        Assert.Contains("encoder.level3.7.bn.act.weight", deeper.state_dict().Keys);
    }
}
