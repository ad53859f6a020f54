namespace FastSeg.Models.Tests.Networks;

public class FastSCNNTests : ModelTestBase
{
    protected override string ModelName => "fastscnn";
}
