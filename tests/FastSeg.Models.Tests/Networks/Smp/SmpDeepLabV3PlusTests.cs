namespace FastSeg.Models.Tests.Networks;

public class SmpDeepLabV3PlusTests : ModelTestBase
{
    protected override string ModelName => "smp/deeplabv3p";
}
