namespace FastSeg.Models.Tests.Networks;

public class ESPNetTests : ModelTestBase
{
    protected override string ModelName => "espnet";
}
