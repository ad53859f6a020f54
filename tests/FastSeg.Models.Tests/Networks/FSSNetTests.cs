namespace FastSeg.Models.Tests.Networks;

public class FSSNetTests : ModelTestBase
{
    protected override string ModelName => "fssnet";
}
