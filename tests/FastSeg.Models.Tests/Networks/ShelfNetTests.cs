namespace FastSeg.Models.Tests.Networks;

public class ShelfNetTests : ModelTestBase
{
    protected override string ModelName => "shelfnet";
}
