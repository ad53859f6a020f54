namespace FastSeg.Models.Tests.Networks;

public class DABNetTests : ModelTestBase
{
    protected override string ModelName => "dabnet";
}
