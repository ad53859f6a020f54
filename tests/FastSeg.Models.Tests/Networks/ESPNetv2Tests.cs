namespace FastSeg.Models.Tests.Networks;

public class ESPNetv2Tests : ModelTestBase
{
    protected override string ModelName => "espnetv2";
}
