using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests.Networks;

public class ICNetTests : ModelTestBase
{
    protected override string ModelName => "icnet";

    /// <summary>
    /// The reference runs the whole backbone on both the 1/4 and the 1/2 image, so in training layer3/layer4 batch
    /// norms see two batches per step (the float64 fixture icnet-resnet18-aux-f64 checks the values).
    /// </summary>
    [Fact]
    public void TrainingRunsTheBackboneTwiceAsTheReference()
    {
        using var model = ModelZoo.Create("icnet", "resnet18", 19, aux: true);
        model.train();
        using var scope = NewDisposeScope();
        using (no_grad()) model.ForwardAll(randn(2, 3, 64, 128)).Dispose();
        Assert.Equal(2L, model.state_dict()["backbone.layer4.1.bn2.num_batches_tracked"].item<long>());
    }
}
