namespace FastSeg.Models.Tests.Networks;

public class ENetTests : ModelTestBase
{
    protected override string ModelName => "enet";
}
