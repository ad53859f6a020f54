namespace FastSeg.Models.Tests.Networks;

public class SmpDeepLabV3Tests : ModelTestBase
{
    protected override string ModelName => "smp/deeplabv3";
}
