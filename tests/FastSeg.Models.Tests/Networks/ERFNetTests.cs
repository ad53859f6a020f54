namespace FastSeg.Models.Tests.Networks;

public class ERFNetTests : ModelTestBase
{
    protected override string ModelName => "erfnet";
}
