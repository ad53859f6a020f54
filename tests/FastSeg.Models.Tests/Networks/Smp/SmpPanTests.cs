namespace FastSeg.Models.Tests.Networks;

public class SmpPanTests : ModelTestBase
{
    protected override string ModelName => "smp/pan";
}
