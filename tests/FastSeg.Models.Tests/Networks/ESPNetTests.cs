using FastSeg.Models.Zoo;
using Xunit;

namespace FastSeg.Models.Tests.Networks;

public class ESPNetTests : ModelTestBase
{
    protected override string ModelName => "espnet";

    [Fact]
    public void TheDecoderNeedsAtLeastFiveClasses()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ModelZoo.Create("espnet", numClasses: 4));
        Assert.Contains("at least 5 classes", ex.Message);
        using var withoutDecoder = ModelZoo.Create("espnet", encoder: "espnet-c", numClasses: 1);
        Assert.Equal(1, withoutDecoder.NumClasses);
    }
}
