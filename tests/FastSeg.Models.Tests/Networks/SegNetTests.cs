namespace FastSeg.Models.Tests.Networks;

public class SegNetTests : ModelTestBase
{
    protected override string ModelName => "segnet";
}
