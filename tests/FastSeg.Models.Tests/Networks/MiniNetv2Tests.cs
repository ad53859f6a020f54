namespace FastSeg.Models.Tests.Networks;

public class MiniNetv2Tests : ModelTestBase
{
    protected override string ModelName => "mininetv2";
}
