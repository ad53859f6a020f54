namespace FastSeg.Models.Tests.Networks;

public class ContextNetTests : ModelTestBase
{
    protected override string ModelName => "contextnet";
}
