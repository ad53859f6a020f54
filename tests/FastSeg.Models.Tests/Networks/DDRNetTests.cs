namespace FastSeg.Models.Tests.Networks;

public class DDRNetTests : ModelTestBase
{
    protected override string ModelName => "ddrnet";
}
