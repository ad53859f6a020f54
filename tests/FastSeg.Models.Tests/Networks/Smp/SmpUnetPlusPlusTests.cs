namespace FastSeg.Models.Tests.Networks;

public class SmpUnetPlusPlusTests : ModelTestBase
{
    protected override string ModelName => "smp/unetpp";
}
