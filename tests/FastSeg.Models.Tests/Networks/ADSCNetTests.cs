namespace FastSeg.Models.Tests.Networks;

public class ADSCNetTests : ModelTestBase
{
    protected override string ModelName => "adscnet";
}
