namespace FastSeg.Models.Tests.Networks;

public class LiteSegTests : ModelTestBase
{
    protected override string ModelName => "liteseg";
}
