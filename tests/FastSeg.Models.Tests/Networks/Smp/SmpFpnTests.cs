namespace FastSeg.Models.Tests.Networks;

public class SmpFpnTests : ModelTestBase
{
    protected override string ModelName => "smp/fpn";
}
