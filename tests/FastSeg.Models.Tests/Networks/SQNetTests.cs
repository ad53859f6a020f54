namespace FastSeg.Models.Tests.Networks;

public class SQNetTests : ModelTestBase
{
    protected override string ModelName => "sqnet";
}
