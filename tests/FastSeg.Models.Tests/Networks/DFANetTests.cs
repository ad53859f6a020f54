using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests.Networks;

public class DFANetTests : ModelTestBase
{
    protected override string ModelName => "dfanet";

    [Fact]
    public void TrainingOnASingleImageIsRefused()
    {
        // The fc-attention normalises 1×1 maps over the batch, which PyTorch refuses for one sample in training.
        using var model = ModelZoo.Create("dfanet", options: new Dictionary<string, string> { ["use_extra_backbone"] = "false" });
        model.train();
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => model.call(zeros(1, 3, 64, 64)));
        Assert.Contains("batch of at least 2", ex.Message);
    }
}
