namespace FastSeg.Models.Tests.Networks;

public class AGLNetTests : ModelTestBase
{
    protected override string ModelName => "aglnet";
}
