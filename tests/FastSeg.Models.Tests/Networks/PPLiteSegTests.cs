namespace FastSeg.Models.Tests.Networks;

public class PPLiteSegTests : ModelTestBase
{
    protected override string ModelName => "ppliteseg";
}
