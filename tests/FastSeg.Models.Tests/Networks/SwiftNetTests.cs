namespace FastSeg.Models.Tests.Networks;

public class SwiftNetTests : ModelTestBase
{
    protected override string ModelName => "swiftnet";
}
