using FastSeg.Models.Zoo;
using Xunit;

namespace FastSeg.Models.Tests.Networks;

public class EDANetTests : ModelTestBase
{
    protected override string ModelName => "edanet";

    [Theory]
    [InlineData("k", "20")]
    [InlineData("num_b1", "4")]
    [InlineData("num_b2", "6")]
    public void ValuesTheReferenceCannotRunAreRejected(string option, string value)
    {
        var e = Assert.Throws<ArgumentException>(() =>
            ModelZoo.Create("edanet", options: new Dictionary<string, string> { [option] = value }));
        Assert.Contains("edanet", e.Message);
        Assert.Contains("the only value the reference runs with", e.Message);
    }
}
