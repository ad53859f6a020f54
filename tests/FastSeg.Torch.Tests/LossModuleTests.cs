using System.Text.Json;
using Xunit;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Torch.Tests;

/// <summary>
/// The loss modules (<c>nn.CrossEntropyLoss</c>, ...) against PyTorch 1.13's modules built with the same options
/// (tools/make_module_fixtures.py, case "losses"): the output, the input's gradient for a given output gradient,
/// and the state-dict keys (class weights are buffers, as in PyTorch).
/// </summary>
public class LossModuleTests
{
    public static TheoryData<string> Cases => new(Fixture.Case("modules.json", "losses").EnumerateObject().Select(p => p.Name));

    // The same options as the fixture script's specs, written the TorchSharp way.
    private static Module<Tensor, Tensor, Tensor> Create(string name, JsonElement c) => name switch
    {
        "cross_entropy_default" => CrossEntropyLoss(),
        "cross_entropy_weighted" => CrossEntropyLoss(c.Tensor("weight"), ignore_index: 255, label_smoothing: 0.1),
        "cross_entropy_sum" => CrossEntropyLoss(ignore_index: 255, reduction: Reduction.Sum),
        "cross_entropy_none" => CrossEntropyLoss(ignore_index: 255, reduction: Reduction.None),
        "nll_weighted" => NLLLoss(c.Tensor("weight"), ignore_index: 255),
        "nll_none" => NLLLoss(reduction: Reduction.None),
        "mse_mean" => MSELoss(),
        "mse_sum" => MSELoss(Reduction.Sum),
        "l1_mean" => L1Loss(),
        "l1_none" => L1Loss(Reduction.None),
        "bce_weighted" => BCELoss(c.Tensor("weight")),
        "bce_with_logits_default" => BCEWithLogitsLoss(),
        "bce_with_logits_weighted" => BCEWithLogitsLoss(c.Tensor("weight"), Reduction.Sum, c.Tensor("pos_weight")),
        "kl_div_default" => KLDivLoss(),
        "kl_div_batchmean" => KLDivLoss("batchmean"),
        "kl_div_log_target" => KLDivLoss("none", log_target: true),
        _ => throw new ArgumentException($"no C# twin for fixture case '{name}'", nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void LossModuleMatchesPyTorchInValueAndGradient(string name)
    {
        using var scope = NewDisposeScope();
        var c = Fixture.Case("modules.json", "losses").GetProperty(name);
        using var loss = Create(name, c);
        var input = c.Tensor("input").requires_grad_();
        var output = loss.call(input, c.Tensor("target"));
        TensorAssert.Close(c.Tensor("output"), output, what: $"{name} output");
        output.backward(c.Tensor("grad_output"));
        TensorAssert.Close(c.Tensor("input_grad"), input.grad!, what: $"{name} input gradient");
        var keys = c.GetProperty("state_keys").EnumerateArray().Select(k => k.GetString()!).ToList();
        Assert.Equal(keys, loss.state_dict().Keys.ToList());
    }

    [Fact]
    public void DisposingALossModuleLeavesTheCallersWeightUsable()
    {
        using var weight = tensor(new float[] { 0.5f, 2f });
        using (var loss = CrossEntropyLoss(weight))
            Assert.Equal(new[] { 0.5f, 2f }, loss.weight!.ToArray<float>());
        Assert.Equal(new[] { 0.5f, 2f }, weight.ToArray<float>());
    }

    [Fact]
    public void KlDivLossRejectsAnUnknownReduction()
    {
        var e = Assert.Throws<ArgumentException>(() => KLDivLoss("average"));
        Assert.Contains("'average'", e.Message);
        Assert.Contains("batchmean", e.Message);
    }
}
