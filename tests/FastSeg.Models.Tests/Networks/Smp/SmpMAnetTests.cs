namespace FastSeg.Models.Tests.Networks;

public class SmpMAnetTests : ModelTestBase
{
    protected override string ModelName => "smp/manet";
}
