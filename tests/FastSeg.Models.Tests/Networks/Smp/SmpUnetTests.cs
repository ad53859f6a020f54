namespace FastSeg.Models.Tests.Networks;

public class SmpUnetTests : ModelTestBase
{
    protected override string ModelName => "smp/unet";
}
