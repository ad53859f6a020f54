using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests.Networks;

public class FastSegPSPNetTests : ModelTestBase
{
    protected override string ModelName => "fast_seg/pspnet";

    /// <summary>
    /// The dsn head is in the state dict whatever the aux flag; training with aux returns its logits at Fast_Seg's
    /// ceil-mode 1/8 size (9×17 for 64×128). Its dropout makes train-mode values random, so only shapes are checked.
    /// </summary>
    [Fact]
    public void TheDsnHeadAlwaysExistsAndTrainingWithAuxReturnsIt()
    {
        using var plain = ModelZoo.Create("fast_seg/pspnet");
        Assert.Contains("dsn.4.weight", plain.state_dict().Keys);
        using var model = ModelZoo.Create("fast_seg/pspnet", aux: true);
        model.train();
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        using var output = model.ForwardAll(randn(2, 3, 64, 128));
        Assert.Equal(new long[] { 2, 19, 64, 128 }, output.Logits.shape);
        Assert.Single(output.Aux);
        Assert.Equal(new long[] { 2, 19, 9, 17 }, output.Aux[0].shape);
    }
}
