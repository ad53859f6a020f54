using FastSeg.Models.Zoo;
using Xunit;

namespace FastSeg.Models.Tests.Networks;

public class ESNetTests : ModelTestBase
{
    protected override string ModelName => "esnet";

    [Fact]
    public void ActivationsTheReferenceCannotBuildInPlaceAreRejected()
    {
        // The reference passes inplace=True to its activations, which PReLU (among others) does not accept.
        var ex = Assert.Throws<ArgumentException>(() =>
            ModelZoo.Create("esnet", options: new Dictionary<string, string> { ["act_type"] = "prelu" }));
        Assert.Contains("esnet option 'act_type'", ex.Message);
        Assert.DoesNotContain("prelu", ex.Message.Split("valid values:")[1]);
    }
}
