using FastSeg.Torch.Modules;
using Xunit;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;
using F = FastSeg.Torch.torch.nn.functional;

namespace FastSeg.Torch.Tests;

/// <summary>
/// A block with every position <c>prepack_convolutions</c> must tell apart: a convolution followed by a ReLU module
/// (fusable), one whose output is also added elsewhere before its ReLU, a ReLU module shared by a fusable convolution
/// and a sum, a convolution followed by an in-place ReLU in a module's own forward (fusable: that relu_ is skipped),
/// the same with an out-of-place ReLU (not fused), and a convolution on a channel slice (a non-dense channels-last input).
/// </summary>
internal sealed class PrepackBlock : Module<Tensor, Tensor>
{
    public readonly Sequential stem = Sequential(Conv2d(3, 8, 3, stride: 2, padding: 1), ReLU());
    public readonly Conv2d branched = Conv2d(8, 8, 3, padding: 2, dilation: 2, groups: 4);
    public readonly Module<Tensor, Tensor> branchedRelu = ReLU();
    public readonly Conv2d sharedInput = Conv2d(8, 8, 1);
    public readonly Module<Tensor, Tensor> sharedRelu = ReLU(inplace: true);
    public readonly Conv2d inline_ = Conv2d(8, 8, 3, padding: 1, bias: false);
    public readonly Conv2d outOfPlace = Conv2d(8, 8, 1);
    public readonly Conv2d sliced = Conv2d(4, 8, 1);

    public PrepackBlock() : base(nameof(PrepackBlock)) => RegisterComponents();

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = stem.call(input);
        var b = branched.call(x);
        var y = branchedRelu.call(b) + b; // b is read twice: no fusion
        var s = sharedRelu.call(sharedInput.call(y)); // fusable, but sharedRelu is also called on a sum below
        var t = sharedRelu.call(s + y);
        var u = inline_.call(t).relu_(); // a ReLU in this module's own forward, not a ReLU module
        u = outOfPlace.call(u).relu() + u;
        var v = sliced.call(u.narrow(1, 2, 4));
        return (u + v).MoveToOuterDisposeScope();
    }
}

public class PrepackedConvolutionTests
{
    public static IEnumerable<object[]> Geometries() => new[]
    {
        // in, out, kernel, stride, padding, dilation, groups, bias
        new object[] { 8, 16, 3, 1, 1, 1, 1, true },
        new object[] { 8, 16, 3, 2, 2, 2, 4, true },
        new object[] { 16, 16, 3, 1, 1, 1, 16, false },
        new object[] { 6, 12, 1, 2, 0, 1, 3, true },
        new object[] { 4, 8, 5, 3, 2, 1, 1, false },
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void PrepackedConvolutionEqualsConv2dAndRelu(int cin, int cout, int k, int stride, int padding, int dilation, int groups, bool hasBias)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var x = randn(2, cin, 23, 31);
        var w = randn(cout, cin / groups, k, k) * 0.2;
        var bias = hasBias ? randn(cout) : null;
        long[] s = { stride, stride }, p = { padding, padding }, d = { dilation, dilation };
        var conv = F.conv2d(x, w, bias, s, p, d, groups);
        foreach (var (attr, expected) in new[] { ("none", conv), ("relu", conv.relu()) })
        {
            using var context = mkldnn_prepacked.conv2d_prepack(w, bias, s, p, d, groups, x.shape, attr);
            Assert.Equal("__torch__.torch.classes.mkldnn.ConvOpContext", context.TypeName);
            foreach (var input in new[] { x, x.contiguous(MemoryFormat.ChannelsLast) })
            {
                var actual = mkldnn_prepacked.conv2d_run(input, context);
                Assert.Equal(expected.shape, actual.shape);
                double error = (actual - expected).abs().max().item<float>();
                Assert.True(error <= 1e-5 * Math.Max(1, expected.abs().max().item<float>()), $"{attr}: differs by {error:G3}");
            }
        }
        // Another input size than the one packed for runs too.
        using var ctx = mkldnn_prepacked.conv2d_prepack(w, bias, s, p, d, groups, x.shape, "relu");
        var other = randn(1, cin, 17, 40);
        var err = (mkldnn_prepacked.conv2d_run(other, ctx) - F.conv2d(other, w, bias, s, p, d, groups).relu()).abs().max().item<float>();
        Assert.True(err <= 1e-5 * 10, $"another input size differs by {err:G3}");
    }

    [Fact]
    public void BadInputsGiveExceptionsNotCrashes()
    {
        using var scope = NewDisposeScope();
        var w = randn(8, 4, 3, 3);
        using var context = mkldnn_prepacked.conv2d_prepack(w, null, new long[] { 1, 1 }, new long[] { 1, 1 }, new long[] { 1, 1 }, 1, new long[] { 1, 4, 16, 16 }, "relu");
        // Wrong channel count, wrong rank, a kernel larger than the padded input.
        Assert.Throws<TorchException>(() => mkldnn_prepacked.conv2d_run(randn(1, 5, 16, 16), context));
        Assert.Throws<TorchException>(() => mkldnn_prepacked.conv2d_run(randn(4, 16, 16), context));
        using var big = mkldnn_prepacked.conv2d_prepack(randn(8, 4, 7, 7), null, new long[] { 1, 1 }, new long[] { 0, 0 }, new long[] { 1, 1 }, 1, new long[] { 1, 4, 16, 16 }, "none");
        Assert.Throws<TorchException>(() => mkldnn_prepacked.conv2d_run(randn(1, 4, 3, 3), big));
        var attr = Assert.Throws<TorchException>(() => mkldnn_prepacked.conv2d_prepack(w, null, new long[] { 1, 1 }, new long[] { 1, 1 }, new long[] { 1, 1 }, 1, new long[] { 1, 4, 16, 16 }, "gelu"));
        Assert.Contains("Fusion behavior undefined", attr.Message);
        Assert.Throws<ArgumentException>(() => mkldnn_prepacked.conv2d_prepack(w, null, new long[] { 1, 1 }, new long[] { 1, 1 }, new long[] { 1, 1 }, 1, new long[] { 16, 16 }, "relu"));
        // A disposed context is refused on the managed side, before any native call.
        context.Dispose();
        Assert.True(context.IsInvalid);
        Assert.Throws<ObjectDisposedException>(() => mkldnn_prepacked.conv2d_run(randn(1, 4, 16, 16), context));
    }

    [Fact]
    public void PrepackingFusesOnlyTheReluModulesTheTraceProvesSafe()
    {
        manual_seed(5);
        using var block = new PrepackBlock();
        block.eval();
        foreach (var p in block.parameters()) p.requires_grad = false;
        using var scope = NewDisposeScope();
        var x = randn(1, 3, 30, 42).contiguous(MemoryFormat.ChannelsLast);
        Tensor expected;
        using (inference_mode())
        using (var eagerProfile = Profiling.OperatorProfile.Start())
        {
            expected = block.call(x).clone();
            Assert.Equal((6, 3, 3), (Calls(eagerProfile, "aten::conv2d"), Calls(eagerProfile, "aten::relu"), Calls(eagerProfile, "aten::relu_")));
        }

        using (var prepacking = utils.prepack_convolutions(block, x))
        {
            Assert.Equal(new[] { ("stem.0", "stem.1"), ("sharedInput", "sharedRelu"), ("inline_", "relu_ in the module's own forward") },
                prepacking.FusedWithRelu.ToArray());
            Assert.Equal(new[] { "branched", "outOfPlace", "sliced" }, prepacking.Plain.ToArray());
            Assert.Empty(prepacking.Unpacked);
            Tensor actual;
            using (inference_mode())
            using (var profile = Profiling.OperatorProfile.Start())
            {
                actual = block.call(x);
                // stem.1 passes its input through; inline_'s relu_ returns at once; sharedRelu still runs twice.
                Assert.Equal((0, 6, 2, 2), (Calls(profile, "aten::conv2d"), Calls(profile, "mkldnn_prepacked::conv2d_run"),
                    Calls(profile, "aten::relu"), Calls(profile, "aten::relu_")));
            }
            Assert.Equal(6, prepacking.PackedCount);
            Assert.True(actual.is_contiguous(MemoryFormat.ChannelsLast) || actual.is_contiguous());
            double error = (actual - expected).abs().max().item<float>();
            Assert.True(error <= 1e-5 * expected.abs().max().item<float>(), $"differs by {error:G3}");
        }
        // Disposed: the packed weights are gone and every module runs its own forward again.
        using (inference_mode())
        {
            var again = block.call(x);
            Assert.True(again.equal(expected));
        }
    }

    private static long Calls(Profiling.OperatorProfile profile, string op) =>
        profile.Rows.Where(r => r.Operator == op).Sum(r => r.Calls);

    [Fact]
    public void PrepackingNeedsEvaluationMode()
    {
        using var block = new PrepackBlock();
        using var x = randn(1, 3, 16, 16);
        var e = Assert.Throws<InvalidOperationException>(() => utils.prepack_convolutions(block, x));
        Assert.Contains("eval()", e.Message);
    }
}
