using FastSeg.Models.Zoo;
using Xunit;

namespace FastSeg.Models.Tests.Networks;

public class FANetTests : ModelTestBase
{
    protected override string ModelName => "fanet";

    [Fact]
    public void OnlyResNet18And34AreAccepted()
    {
        // The reference raises NotImplementedError for any other backbone.
        var ex = Assert.Throws<ArgumentException>(() => ModelZoo.Create("fanet", "resnet50"));
        Assert.Contains("valid encoders: resnet18, resnet34", ex.Message);
    }
}
