namespace FastSeg.Models.Tests.Networks;

public class STDCTests : ModelTestBase
{
    protected override string ModelName => "stdc";
}
