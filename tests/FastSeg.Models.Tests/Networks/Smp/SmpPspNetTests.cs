using FastSeg.Models.Encoders;

namespace FastSeg.Models.Tests.Networks;

public class SmpPspNetTests : ModelTestBase
{
    private static readonly string[] EncoderStagesNeverRun = UnusedEncoderParameters();

    protected override string ModelName => "smp/pspnet";

    /// <summary>SMP's depth-3 encoder keeps layer3 and layer4 in the state dict but never runs them.</summary>
    protected override IReadOnlyCollection<string> UnusedParameters => EncoderStagesNeverRun;

    private static string[] UnusedEncoderParameters()
    {
        using var encoder = new SmpResNetEncoder(SmpResNetEncoder.DefaultName, depth: 3);
        return encoder.named_parameters().Select(p => "encoder." + p.name)
            .Where(n => n.StartsWith("encoder.layer3.", StringComparison.Ordinal) || n.StartsWith("encoder.layer4.", StringComparison.Ordinal))
            .ToArray();
    }
}
