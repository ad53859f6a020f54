namespace FastSeg.Models.Tests.Networks;

public class BiSeNetv1Tests : ModelTestBase
{
    protected override string ModelName => "bisenetv1";
}
