namespace FastSeg.Models.Tests.Networks;

public class CGNetTests : ModelTestBase
{
    protected override string ModelName => "cgnet";
}
