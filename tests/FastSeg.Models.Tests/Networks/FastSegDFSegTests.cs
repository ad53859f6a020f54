using FastSeg.Models.Networks;

namespace FastSeg.Models.Tests.Networks;

public class FastSegDFSegV1Tests : ModelTestBase
{
    protected override string ModelName => "fast_seg/dfnetv1seg";

    protected override IReadOnlyCollection<string> UnusedParameters => DFSeg.UnusedParameters;
}

public class FastSegDFSegV2Tests : ModelTestBase
{
    protected override string ModelName => "fast_seg/dfnetv2seg";

    protected override IReadOnlyCollection<string> UnusedParameters => DFSeg.UnusedParameters;
}
