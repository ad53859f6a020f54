using FastSeg.Torch.Modules;
using Xunit;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Torch.Tests;

/// <summary><c>nn.utils.rewrite_transposed_convolutions</c>: a transposed convolution computed as a convolution of the zero-interleaved input.</summary>
public class TransposedConvolutionRewriteTests
{
    // (in, out, kernel, stride, padding, output padding, dilation, groups, input h, w)
    public static TheoryData<int, int, int, int, int, int, int, int, int, int> Geometries() => new()
    {
        { 16, 8, 3, 2, 1, 1, 1, 1, 9, 13 },   // ERFNet's / ESNet's upsampler
        { 8, 5, 2, 2, 0, 0, 1, 1, 7, 6 },     // non-overlapping 2x2
        { 8, 8, 4, 2, 1, 0, 1, 4, 5, 8 },     // grouped, kernel 4
        { 6, 4, 3, 3, 2, 2, 2, 2, 4, 5 },     // stride 3, dilation 2, grouped, output padding
        { 4, 4, 1, 1, 0, 0, 1, 1, 6, 6 },     // 1x1, stride 1
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void EqualsLibtorchsTransposedConvolution(int cin, int cout, int k, int s, int p, int q, int d, int g, int h, int w)
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var deconv = ConvTranspose2d(cin, cout, k, stride: s, padding: p, output_padding: q, dilation: d, groups: g);
        var net = Sequential(deconv);
        net.eval();
        var x = randn(2, cin, h, w);
        Tensor expected;
        using (no_grad()) expected = net.call(x);
        foreach (var format in new[] { MemoryFormat.Contiguous, MemoryFormat.ChannelsLast })
        {
            using var rewrite = utils.rewrite_transposed_convolutions(net, ScalarType.Float32, format);
            Assert.Equal(new[] { "0" }, rewrite.Rewritten);
            Tensor actual;
            using (no_grad()) actual = net.call(x.contiguous(format));
            Assert.Equal(expected.shape, actual.shape);
            Assert.True((actual - expected).abs().max().item<float>() < 1e-4, $"{format}: max difference {(actual - expected).abs().max().item<float>()}");
        }
        // Disposed: the module runs libtorch's transposed convolution again.
        Tensor again;
        using (no_grad()) again = net.call(x);
        Assert.True(again.equal(expected));
    }

    [Fact]
    public void BFloat16FollowsFloat32AndPaddingBeyondTheKernelIsLeftAlone()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var net = Sequential(ConvTranspose2d(8, 4, 3, stride: 2, padding: 1, output_padding: 1));
        net.eval();
        var x = randn(1, 8, 6, 7);
        Tensor expected;
        using (no_grad()) expected = net.call(x);
        using (var rewrite = utils.rewrite_transposed_convolutions(net, ScalarType.BFloat16, MemoryFormat.ChannelsLast))
        {
            Tensor actual;
            using (no_grad()) actual = net.call(x).to(ScalarType.Float32);
            double relative = (actual - expected).norm().item<float>() / expected.norm().item<float>();
            Assert.True(relative < 0.02, $"relative L2 error {relative}");
        }
        var wide = Sequential(ConvTranspose2d(4, 4, 3, stride: 2, padding: 3));
        using var none = utils.rewrite_transposed_convolutions(wide, ScalarType.Float32, MemoryFormat.Contiguous);
        Assert.Empty(none.Rewritten);
        Assert.Contains("exceeds", Assert.Single(none.Kept).Reason);
    }
}
