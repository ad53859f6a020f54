namespace FastSeg.Models.Tests.Networks;

public class DFANetTests : ModelTestBase
{
    protected override string ModelName => "dfanet";
}
