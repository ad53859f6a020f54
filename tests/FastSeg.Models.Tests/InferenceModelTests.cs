using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using FastSeg.Torch;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests;

/// <summary>
/// The inference tests seed the global torch generator and then build networks from it; a test of another class drawing
/// from the same generator at the same time would change the weights (and the bf16 error, which depends on them), so
/// these run alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SeededNetworksCollection
{
    public const string Name = "seeded networks";
}

[Collection(SeededNetworksCollection.Name)]
public class InferenceModelTests
{
    public static IEnumerable<object[]> Networks() => ModelZoo.Names.Select(n => new object[] { n });

    private static long RoundUp(long v, long m) => (v + m - 1) / m * m;

    private static Tensor InputFor(SegmentationModel model) =>
        DeterministicFill.Input(new long[] { 1, 3, RoundUp(64, model.InputMultiple), RoundUp(96, model.InputMultiple) });

    private static (double Error, double Largest) Difference(Tensor actual, Tensor expected) =>
        ((actual - expected).abs().max().item<float>(), expected.abs().max().item<float>());

    /// <summary>
    /// The network with its own seeded initialisation and batch-norm statistics and affine parameters far from the
    /// identity (running mean 0.1·b, variance 0.75 + 0.5·b², γ = 1 + 0.1·b, β = 0.1·b with b = sin(0.37 j + 1.91 i)), so
    /// that folding changes every weight it touches. (DeterministicFill's weights make some networks blow up to
    /// 1e33 or NaN in float32, where no comparison means anything.)
    /// </summary>
    private static SegmentationModel WithBatchNormStatistics(string name)
    {
        manual_seed(0);
        var model = ModelZoo.Create(name);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int i = 0;
        foreach (var bn in model.modules().OfType<FastSeg.Torch.Modules.BatchNorm2d>())
        {
            var b = (arange(0, bn.num_features, dtype: ScalarType.Float32) * 0.37f + 1.91f * i++).sin();
            bn.running_mean?.copy_(b * 0.1f);
            bn.running_var?.copy_(b * b * 0.5f + 0.75f);
            bn.weight?.copy_(b * 0.1f + 1);
            bn.bias?.copy_(b * 0.1f);
        }
        return model;
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Fp32InferenceFormEqualsTheEagerNetworkAndLeavesItUnchanged(string name)
    {
        using var model = WithBatchNormStatistics(name);
        model.eval();
        using var scope = NewDisposeScope();
        var before = model.state_dict().ToDictionary(e => e.Key, e => e.Value.clone());
        var x = InputFor(model);
        Tensor expected;
        using (no_grad()) expected = model.call(x);

        using var inference = model.ForInference(new InferenceOptions { Precision = InferencePrecision.Fp32 });
        var actual = inference.call(x);

        Assert.NotNull(inference.Prepacking); // fused/prepacked kernels are on by default
        Assert.Equal(ScalarType.Float32, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        var (error, largest) = Difference(actual, expected);
        Assert.True(largest > 0 && double.IsFinite(largest), $"{name}: the eager logits are {largest}");
        Assert.True(error <= 1e-4 * largest, $"{name}: the inference form's logits differ by {error:G3}, largest logit {largest:G3}");
        foreach (var (key, value) in model.state_dict())
            Assert.True(value.equal(before[key]), $"{name}: {key} of the original network changed");
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
        Assert.All(inference.parameters(), p => Assert.False(p.requires_grad));
    }

    [Theory]
    [InlineData("fastscnn")]
    [InlineData("ddrnet")]
    public void BFloat16InferenceFormAgreesWithFp32OnAlmostEveryPixel(string name)
    {
        using var model = ModelZoo.Create(name);
        DeterministicFill.Apply(model);
        model.eval();
        using var scope = NewDisposeScope();
        var x = DeterministicFill.Input(new long[] { 1, 3, 128, 256 });
        using var fp32 = model.ForInference(new InferenceOptions { Precision = InferencePrecision.Fp32 });
        using var bf16 = model.ForInference(new InferenceOptions { Precision = InferencePrecision.BFloat16 });
        Assert.Equal(ScalarType.BFloat16, bf16.DType);
        Assert.Equal(ScalarType.BFloat16, bf16.parameters().First().dtype);
        var reference = fp32.call(x);
        var lowered = bf16.call(x);
        Assert.Equal(ScalarType.Float32, lowered.dtype);
        double agreement = reference.argmax(1).eq(lowered.argmax(1)).to(ScalarType.Float32).mean().item<float>();
        Assert.True(agreement >= 0.97, $"{name}: bf16 and fp32 agree on {agreement:P2} of the pixels");
    }

    /// <summary>
    /// Every network runs in bfloat16 (with its prepacked, fused convolutions) and its logits follow the eager fp32
    /// network's: relative L2 error within 20 % (bfloat16 keeps 8 significant bits and errors accumulate over layers:
    /// ENet, the deepest, is at 12 %; a wrong fusion or layout gives errors near 100 %).
    /// </summary>
    [Theory]
    [MemberData(nameof(Networks))]
    public void BFloat16InferenceFormRunsEveryNetwork(string name)
    {
        using var model = WithBatchNormStatistics(name);
        model.eval();
        using var scope = NewDisposeScope();
        var x = InputFor(model);
        Tensor expected;
        using (no_grad()) expected = model.call(x);

        using var bf16 = model.ForInference(new InferenceOptions { Precision = InferencePrecision.BFloat16 });
        var actual = bf16.call(x);

        Assert.Equal(ScalarType.BFloat16, bf16.DType);
        Assert.Equal(ScalarType.Float32, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        double relative = (actual - expected).norm().item<float>() / expected.norm().item<float>();
        Assert.True(relative <= 0.2, $"{name}: bf16 logits differ from fp32 by {relative:P1} (relative L2)");
    }

    [Fact]
    public void FusedKernelsCanBeTurnedOff()
    {
        using var model = ModelZoo.Create("ddrnet");
        model.eval();
        using var fused = model.ForInference(new InferenceOptions { Precision = InferencePrecision.Fp32 });
        using var plain = model.ForInference(new InferenceOptions { Precision = InferencePrecision.Fp32, FusedKernels = false });
        int convolutions = model.modules().Count(m => m is FastSeg.Torch.Modules.Conv2d);
        Assert.Null(plain.Prepacking);
        var p = fused.Prepacking!;
        Assert.Equal(convolutions, p.FusedWithRelu.Count + p.Plain.Count + p.Unpacked.Count);
        Assert.True(p.FusedWithRelu.Count > 0, "no convolution of ddrnet was fused with its ReLU");
        using var scope = NewDisposeScope();
        var x = DeterministicFill.Input(new long[] { 1, 3, 64, 128 });
        var a = fused.call(x);
        var b = plain.call(x);
        Assert.True((a - b).abs().max().item<float>() <= 1e-4 * b.abs().max().item<float>());
    }

    [Fact]
    public void FoldsTheBatchNormsThatFollowConvolutions()
    {
        using var model = ModelZoo.Create("ddrnet");
        using var inference = model.ForInference(new InferenceOptions { Precision = InferencePrecision.Fp32 });
        int norms = model.modules().Count(m => m is FastSeg.Torch.Modules.BatchNorm2d);
        Assert.NotNull(inference.Folding);
        Assert.Equal(norms, inference.Folding!.Folded.Count + inference.Folding.Unfolded.Count);
        Assert.True(inference.Folding.Folded.Count >= norms * 3 / 4, $"only {inference.Folding.Folded.Count} of {norms} batch norms folded");
    }

    [Fact]
    public void IsEvaluationOnlyAndNeedsAZooNetwork()
    {
        using var model = ModelZoo.Create("fastscnn");
        using var inference = model.ForInference(new InferenceOptions { Precision = InferencePrecision.Fp32 });
        Assert.False(inference.training);
        Assert.Throws<InvalidOperationException>(() => inference.train());
        Assert.Throws<ArgumentException>(() => inference.ForInference());
        using var tiny = new TinyNet();
        var e = Assert.Throws<ArgumentException>(() => tiny.ForInference());
        Assert.Contains("ModelZoo", e.Message);
    }

    [Fact]
    public void AutoPrecisionFollowsTheCpuFlags()
    {
        Assert.True(CpuFeatures.FlagsHaveNativeBFloat16("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_tile\n"));
        Assert.True(CpuFeatures.FlagsHaveNativeBFloat16("flags\t: fpu amx_bf16 amx_tile\n"));
        Assert.False(CpuFeatures.FlagsHaveNativeBFloat16("flags\t: fpu avx512f avx512bw\nbugs\t: avx512_bf16\n"));
        using var model = ModelZoo.Create("fastscnn");
        using var inference = model.ForInference();
        Assert.Equal(CpuFeatures.HasNativeBFloat16 ? ScalarType.BFloat16 : ScalarType.Float32, inference.DType);
    }
}
