namespace FastSeg.Models.Tests.Networks;

public class BiSeNetv2Tests : ModelTestBase
{
    protected override string ModelName => "bisenetv2";
}
