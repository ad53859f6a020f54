namespace FastSeg.Models.Tests.Networks;

public class SmpLinknetTests : ModelTestBase
{
    protected override string ModelName => "smp/linknet";
}
