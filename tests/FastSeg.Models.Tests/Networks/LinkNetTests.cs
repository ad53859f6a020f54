namespace FastSeg.Models.Tests.Networks;

public class LinkNetTests : ModelTestBase
{
    protected override string ModelName => "linknet";
}
