namespace FastSeg.Models.Tests.Networks;

public class LEDNetTests : ModelTestBase
{
    protected override string ModelName => "lednet";
}
