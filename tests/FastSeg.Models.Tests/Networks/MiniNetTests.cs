namespace FastSeg.Models.Tests.Networks;

public class MiniNetTests : ModelTestBase
{
    protected override string ModelName => "mininet";
}
