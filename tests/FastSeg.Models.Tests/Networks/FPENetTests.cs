using FastSeg.Models.Zoo;
using Xunit;

namespace FastSeg.Models.Tests.Networks;

public class FPENetTests : ModelTestBase
{
    protected override string ModelName => "fpenet";

    [Fact]
    public void ActivationsTheReferenceCannotBuildAreRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => ModelZoo.Create("fpenet", options: new Dictionary<string, string> { ["act_type"] = "prelu" }));
        Assert.Contains("relu6", ex.Message);
    }
}
