using FastSeg.Torch;
using Xunit;
using static FastSeg.Torch.torch;
using F = FastSeg.Torch.torch.nn.functional;

namespace FastSeg.Torch.Tests;

/// <summary>backward, grad bookkeeping, and the thread-local modes (no_grad, enable_grad, inference_mode, autocast).</summary>
public class AutogradTests
{
    private static Tensor Leaf(params float[] values) => tensor(values, requires_grad: true);

    [Fact]
    public void BackwardOfANonScalarOutputTakesAnExplicitGradient()
    {
        using var x = Leaf(1, 2, 3);
        using var y = x * x;
        Assert.False(y.is_leaf);
        Assert.True(y.requires_grad);
        using var upstream = tensor(new float[] { 1, 0.5f, 2 });
        y.backward(upstream);
        using var g = x.grad!;
        // d(x²)/dx · upstream = 2x · upstream
        Assert.Equal(new float[] { 2, 2, 12 }, g.ToArray<float>());
    }

    [Fact]
    public void BackwardOfANonScalarOutputWithoutAGradientThrows()
    {
        using var x = Leaf(1, 2, 3);
        using var y = x * x;
        var ex = Assert.Throws<TorchException>(() => y.backward());
        Assert.Contains("grad can be implicitly created only for scalar outputs", ex.Message);
        Assert.Null(x.grad);
    }

    [Fact]
    public void GradIsNullUntilBackwardAndSettingNullClearsIt()
    {
        using var x = Leaf(0.5f, -1.5f);
        Assert.Null(x.grad);
        using (var loss = (x * x).sum()) loss.backward();
        using (var g = x.grad)
        {
            Assert.NotNull(g);
            Assert.Equal(new float[] { 1, -3 }, g!.ToArray<float>());
        }
        x.grad = null;
        Assert.Null(x.grad);

        // a gradient can also be installed by hand, and backward accumulates into it
        using (var manual = tensor(new float[] { 10, 20 })) x.grad = manual;
        using (var loss = x.sum()) loss.backward();
        using (var g = x.grad!) Assert.Equal(new float[] { 11, 21 }, g.ToArray<float>());
    }

    [Fact]
    public void AssigningAGradientOfTheWrongSizeOrTypeIsRejected()
    {
        // As in PyTorch's Tensor.grad setter: a mismatched gradient would otherwise be broadcast into later
        // accumulations and optimizer steps without any error.
        using var x = Leaf(1, 2);
        using (var wrongSize = zeros(3))
        {
            var ex = Assert.Throws<TorchException>(() => x.grad = wrongSize);
            Assert.Contains("different size", ex.Message);
        }
        using (var wrongType = zeros(new long[] { 2 }, ScalarType.Float64))
        {
            var ex = Assert.Throws<TorchException>(() => x.grad = wrongType);
            Assert.Contains("different type", ex.Message);
        }
        Assert.Throws<TorchException>(() => x.grad = x);
        Assert.Null(x.grad);

        using (var right = ones(2)) x.grad = right;
        using var g = x.grad!;
        Assert.Equal(new float[] { 1, 1 }, g.ToArray<float>());
    }

    [Fact]
    public void TheGradPropertySharesStorageWithTheAccumulatedGradient()
    {
        using var x = Leaf(1, 2);
        using (var loss = (x * 3).sum()) loss.backward();
        using (var g = x.grad!) g.zero_();
        using var again = x.grad!;
        Assert.Equal(new float[] { 0, 0 }, again.ToArray<float>());
    }

    [Fact]
    public void ASecondBackwardWithoutRetainGraphThrows()
    {
        using var x = Leaf(0.1f, 0.2f, 0.3f);
        using var e = x.exp();
        using var loss = e.sum();
        loss.backward();
        var ex = Assert.Throws<TorchException>(() => loss.backward());
        Assert.Contains("backward through the graph a second time", ex.Message);
    }

    [Fact]
    public void RetainGraphAllowsASecondBackwardThatAccumulatesExactlyDouble()
    {
        using var x = Leaf(0.1f, -0.7f, 1.3f, 2.9f);
        using var e = x.exp();
        using var loss = (e * x).sum();
        loss.backward(retain_graph: true);
        float[] first;
        using (var g = x.grad!) first = g.ToArray<float>();
        Assert.All(first, v => Assert.NotEqual(0f, v));

        loss.backward();
        using var g2 = x.grad!;
        Assert.Equal(first.Select(v => v * 2).ToArray(), g2.ToArray<float>());
    }

    [Fact]
    public void GradientsOfSeparateGraphsAccumulate()
    {
        using var x = Leaf(1, 2);
        using (var a = (x * 2).sum()) a.backward();
        using (var b = (x * x).sum()) b.backward();
        using var g = x.grad!;
        Assert.Equal(new float[] { 2 + 2, 2 + 4 }, g.ToArray<float>());
    }

    [Fact]
    public void DetachStopsGradients()
    {
        using var x = Leaf(1, 2, 3);
        using var d = x.detach();
        Assert.False(d.requires_grad);
        Assert.True(d.is_leaf);
        using var a = x * 3;
        using var b = d * 5;
        Assert.False(b.requires_grad);
        using var sum = a + b;
        using var loss = sum.sum();
        loss.backward();
        using var g = x.grad!;
        Assert.Equal(new float[] { 3, 3, 3 }, g.ToArray<float>());
        Assert.Null(d.grad);
    }

    [Fact]
    public void NoGradScopesNestAndRestoreTheMode()
    {
        using var x = Leaf(1, 2);
        Assert.True(is_grad_enabled());
        using (no_grad())
        {
            Assert.False(is_grad_enabled());
            using var y = x * 2;
            Assert.False(y.requires_grad);
            Assert.Throws<TorchException>(() =>
            {
                using var s = y.sum();
                s.backward();
            });

            using (no_grad()) Assert.False(is_grad_enabled());
            Assert.False(is_grad_enabled());

            using (enable_grad())
            {
                Assert.True(is_grad_enabled());
                using var z = x * 2;
                Assert.True(z.requires_grad);
                using var loss = z.sum();
                loss.backward();
            }
            Assert.False(is_grad_enabled());
        }
        Assert.True(is_grad_enabled());
        using var g = x.grad!;
        Assert.Equal(new float[] { 2, 2 }, g.ToArray<float>());

        using (set_grad_enabled(false)) Assert.False(is_grad_enabled());
        Assert.True(is_grad_enabled());
    }

    [Fact]
    public void DisposingAGradScopeTwiceDoesNotChangeTheModeAgain()
    {
        var outer = no_grad();
        var inner = enable_grad();
        inner.Dispose();
        Assert.False(is_grad_enabled());
        inner.Dispose();
        Assert.False(is_grad_enabled());
        outer.Dispose();
        Assert.True(is_grad_enabled());
    }

    [Fact]
    public void GradModeIsPerThread()
    {
        using (no_grad())
        {
            bool other = false;
            var t = new Thread(() => other = is_grad_enabled());
            t.Start();
            t.Join();
            Assert.True(other);
            Assert.False(is_grad_enabled());
        }
    }

    [Fact]
    public void InferenceModeProducesTensorsThatCannotJoinAutogradLater()
    {
        using var x = Leaf(1, 2, 3);
        Assert.False(is_inference_mode_enabled());
        Tensor made;
        using (inference_mode())
        {
            Assert.True(is_inference_mode_enabled());
            Assert.False(is_grad_enabled());
            made = x * 2;
            Assert.False(made.requires_grad);
            Assert.Equal(new float[] { 2, 4, 6 }, made.ToArray<float>());
            using (inference_mode(false)) Assert.False(is_inference_mode_enabled());
            Assert.True(is_inference_mode_enabled());
        }
        Assert.False(is_inference_mode_enabled());
        Assert.True(is_grad_enabled());

        using (made)
        {
            var ex = Assert.Throws<TorchException>(() =>
            {
                using var y = x * made;
                using var loss = y.sum();
                loss.backward();
            });
            Assert.Contains("Inference tensors cannot be saved for backward", ex.Message);
            // a clone is a normal tensor again
            using var normal = made.clone();
            using var y2 = x * normal;
            using var loss2 = y2.sum();
            loss2.backward();
            using var g = x.grad!;
            Assert.Equal(new float[] { 2, 4, 6 }, g.ToArray<float>());
        }
    }

    [Fact]
    public void AutocastRunsConvAndMatmulInBFloat16OnlyWhileOpen()
    {
        using var input = randn(1, 3, 8, 8);
        using var weight = randn(new long[] { 4, 3, 3, 3 }, requires_grad: true);
        using var a = randn(2, 3);
        using var b = randn(3, 5);
        Assert.False(is_autocast_enabled(DeviceType.CPU));

        using (autocast(DeviceType.CPU))
        {
            Assert.True(is_autocast_enabled(DeviceType.CPU));
            using var conv = F.conv2d(input, weight, padding: new long[] { 1, 1 });
            using var mm = a.matmul(b);
            Assert.Equal(ScalarType.BFloat16, conv.dtype);
            Assert.Equal(ScalarType.BFloat16, mm.dtype);
            // ops outside the lower-precision list keep the input's type
            using var sum = a + a;
            Assert.Equal(ScalarType.Float32, sum.dtype);

            // gradients still reach the float32 leaf in its own dtype
            using var loss = conv.@float().sum();
            loss.backward();
        }
        Assert.False(is_autocast_enabled(DeviceType.CPU));
        using (var g = weight.grad!) Assert.Equal(ScalarType.Float32, g.dtype);

        using var convAfter = F.conv2d(input, weight, padding: new long[] { 1, 1 });
        using var mmAfter = a.matmul(b);
        Assert.Equal(ScalarType.Float32, convAfter.dtype);
        Assert.Equal(ScalarType.Float32, mmAfter.dtype);
    }

    [Fact]
    public void NestedAutocastScopesRestoreTheOuterState()
    {
        using var a = randn(2, 3);
        using var b = randn(3, 5);
        ScalarType Run()
        {
            using var mm = a.matmul(b);
            return mm.dtype;
        }

        using (autocast(DeviceType.CPU))
        {
            Assert.Equal(ScalarType.BFloat16, Run());
            using (autocast(DeviceType.CPU, enabled: false))
            {
                Assert.False(is_autocast_enabled(DeviceType.CPU));
                Assert.Equal(ScalarType.Float32, Run());
                using (autocast("cpu"))
                {
                    Assert.True(is_autocast_enabled(DeviceType.CPU));
                    Assert.Equal(ScalarType.BFloat16, Run());
                }
                Assert.False(is_autocast_enabled(DeviceType.CPU));
                Assert.Equal(ScalarType.Float32, Run());
            }
            Assert.True(is_autocast_enabled(DeviceType.CPU));
            Assert.Equal(ScalarType.BFloat16, Run());
            using (autocast(DeviceType.CPU)) Assert.Equal(ScalarType.BFloat16, Run());
            Assert.True(is_autocast_enabled(DeviceType.CPU));
            Assert.Equal(ScalarType.BFloat16, Run());
        }
        Assert.False(is_autocast_enabled(DeviceType.CPU));
        Assert.Equal(ScalarType.Float32, Run());
    }

    [Fact]
    public void AutocastOnTheCpuRejectsFloat16AndLeavesTheStateAlone()
    {
        var ex = Assert.Throws<TorchException>(() => autocast(DeviceType.CPU, ScalarType.Float16));
        Assert.Contains("bfloat16", ex.Message);
        Assert.False(is_autocast_enabled(DeviceType.CPU));
        using var a = randn(2, 3);
        using var b = randn(3, 5);
        using var mm = a.matmul(b);
        Assert.Equal(ScalarType.Float32, mm.dtype);
    }
}
