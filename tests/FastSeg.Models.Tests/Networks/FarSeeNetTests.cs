namespace FastSeg.Models.Tests.Networks;

public class FarSeeNetTests : ModelTestBase
{
    protected override string ModelName => "farseenet";
}
