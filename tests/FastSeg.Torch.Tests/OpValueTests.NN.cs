using FastSeg.Torch;
using Xunit;
using static FastSeg.Torch.torch;
using F = FastSeg.Torch.torch.nn.functional;

namespace FastSeg.Torch.Tests;

/// <summary>torch.nn.functional: convolutions, normalisation, pooling, resampling, padding, activations, losses.</summary>
public partial class OpValueTests
{
    // ---- convolution ---------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("conv2d_stride_padding")]
    [InlineData("conv2d_dilation_groups_nobias")]
    [InlineData("conv2d_depthwise_mult2")]
    public void Conv2d(string name)
    {
        using var scope = NewDisposeScope();
        var c = Case(name);
        var bias = c.TryGetProperty("b", out _) ? c.Tensor("b") : null;
        var output = F.conv2d(c.Tensor("x"), c.Tensor("w"), bias, Ls(c, "stride"), Ls(c, "padding"), Ls(c, "dilation"),
            L(c, "groups"));
        Expect(c, "out", output);
    }

    [Fact]
    public void Conv2dDepthwiseWithChannelMultiplierHasTwoOutputsPerInput()
    {
        using var scope = NewDisposeScope();
        var c = Case("conv2d_depthwise_mult2");
        Assert.Equal(new long[] { 6, 1, 3, 3 }, c.Tensor("w").shape);
        Assert.Equal(3, L(c, "groups"));
        Assert.Equal(6, c.Tensor("out").size(1));
    }

    [Fact]
    public void Conv2dPaddingSameAndValid()
    {
        using var scope = NewDisposeScope();
        var c = Case("conv2d_same");
        var x = c.Tensor("x");
        var output = F.conv2d(x, c.Tensor("w"), c.Tensor("b"), null, "same", Ls(c, "dilation"));
        Assert.Equal(x.shape[2..], output.shape[2..]);
        Expect(c, "out", output);
        c = Case("conv2d_valid");
        Expect(c, "out", F.conv2d(c.Tensor("x"), c.Tensor("w"), c.Tensor("b"), null, "valid", Ls(c, "dilation")));
    }

    [Theory]
    [InlineData("conv_transpose2d_stride2_groups")]
    [InlineData("conv_transpose2d_dilation_nobias")]
    public void ConvTranspose2d(string name)
    {
        using var scope = NewDisposeScope();
        var c = Case(name);
        var bias = c.TryGetProperty("b", out _) ? c.Tensor("b") : null;
        var output = F.conv_transpose2d(c.Tensor("x"), c.Tensor("w"), bias, Ls(c, "stride"), Ls(c, "padding"),
            Ls(c, "output_padding"), L(c, "groups"), Ls(c, "dilation"));
        Expect(c, "out", output);
    }

    [Fact]
    public void Conv2dChannelsLastEqualsContiguous()
    {
        using var scope = NewDisposeScope();
        var c = Case("conv2d_channels_last");
        var x = c.Tensor("x").contiguous(MemoryFormat.ChannelsLast);
        var w = c.Tensor("w").contiguous(MemoryFormat.ChannelsLast);
        Assert.True(x.is_contiguous(MemoryFormat.ChannelsLast));
        var padding = new long[] { 1, 1 };
        var channelsLast = F.conv2d(x, w, c.Tensor("b"), padding: padding);
        Assert.Equal(c.GetProperty("out_is_channels_last").GetBoolean(), channelsLast.is_contiguous(MemoryFormat.ChannelsLast));
        Expect(c, "out", channelsLast);
        var contiguous = F.conv2d(c.Tensor("x"), c.Tensor("w"), c.Tensor("b"), padding: padding);
        Expect(c, "out", contiguous);
        TensorAssert.Equal(contiguous, channelsLast, "channels-last vs contiguous");
    }

    // ---- normalisation and linear --------------------------------------------------------------------------------

    [Fact]
    public void BatchNormTrainingUpdatesRunningStatistics()
    {
        using var scope = NewDisposeScope();
        var c = Case("batch_norm_train");
        var runningMean = c.Tensor("running_mean");
        var runningVar = c.Tensor("running_var");
        var output = F.batch_norm(c.Tensor("x"), runningMean, runningVar, c.Tensor("weight"), c.Tensor("bias"),
            training: true, momentum: D(c, "momentum"), eps: D(c, "eps"));
        Expect(c, "out", output);
        Expect(c, "running_mean_after", runningMean);
        Expect(c, "running_var_after", runningVar);
    }

    [Fact]
    public void BatchNormEvalUsesRunningStatistics()
    {
        using var scope = NewDisposeScope();
        var c = Case("batch_norm_eval");
        var runningMean = c.Tensor("running_mean");
        var runningVar = c.Tensor("running_var");
        var output = F.batch_norm(c.Tensor("x"), runningMean, runningVar, c.Tensor("weight"), c.Tensor("bias"),
            training: false, eps: D(c, "eps"));
        Expect(c, "out", output);
        Expect(c, "running_mean", runningMean); // untouched
        Expect(c, "running_var", runningVar);
        c = Case("batch_norm_train_no_stats");
        Expect(c, "out", F.batch_norm(c.Tensor("x"), null, null, training: true));
    }

    [Fact]
    public void LayerNormAndGroupNorm()
    {
        using var scope = NewDisposeScope();
        var c = Case("layer_norm");
        Expect(c, "out", F.layer_norm(c.Tensor("x"), new long[] { 4, 5 }, c.Tensor("weight"), c.Tensor("bias")));
        c = Case("group_norm");
        Expect(c, "out", F.group_norm(c.Tensor("x"), L(c, "groups"), c.Tensor("weight"), c.Tensor("bias")));
    }

    [Fact]
    public void Linear()
    {
        using var scope = NewDisposeScope();
        var c = Case("linear");
        Expect(c, "out", F.linear(c.Tensor("x"), c.Tensor("w"), c.Tensor("b")));
        Expect(c, "out_nobias", F.linear(c.Tensor("x"), c.Tensor("w")));
    }

    // ---- pooling -------------------------------------------------------------------------------------------------

    [Fact]
    public void MaxPool2d()
    {
        using var scope = NewDisposeScope();
        var c = Case("max_pool2d_ceil_padding");
        Expect(c, "out", F.max_pool2d(c.Tensor("x"), Ls(c, "kernel"), Ls(c, "stride"), Ls(c, "padding"), ceil_mode: true));
        c = Case("max_pool2d_rect_dilation");
        Expect(c, "out", F.max_pool2d(c.Tensor("x"), Ls(c, "kernel"), Ls(c, "stride"), Ls(c, "padding"), Ls(c, "dilation")));
    }

    [Fact]
    public void MaxPool2dWithIndicesAndMaxUnpool2d()
    {
        using var scope = NewDisposeScope();
        var c = Case("max_pool2d_indices_unpool");
        var (output, indices) = F.max_pool2d_with_indices(c.Tensor("x"), new long[] { 2 }, new long[] { 2 });
        Expect(c, "out", output);
        Expect(c, "indices", indices);
        Expect(c, "unpooled", F.max_unpool2d(output, indices, new long[] { 2 }, new long[] { 2 }));

        c = Case("max_pool2d_indices_unpool_output_size");
        (output, indices) = F.max_pool2d_with_indices(c.Tensor("x"), new long[] { 3, 3 }, new long[] { 2, 2 }, new long[] { 1, 1 });
        Expect(c, "out", output);
        Expect(c, "indices", indices);
        Expect(c, "unpooled", F.max_unpool2d(output, indices, new long[] { 3 }, new long[] { 2 }, new long[] { 1 },
            output_size: new long[] { 7, 9 }));
        Expect(c, "unpooled_default", F.max_unpool2d(output, indices, new long[] { 3 }, new long[] { 2 }, new long[] { 1 }));
    }

    [Fact]
    public void AvgPool2d()
    {
        using var scope = NewDisposeScope();
        var c = Case("avg_pool2d_ceil_exclude_pad");
        Expect(c, "out", F.avg_pool2d(c.Tensor("x"), new long[] { 3, 3 }, new long[] { 2, 2 }, new long[] { 1, 1 },
            ceil_mode: true, count_include_pad: false));
        c = Case("avg_pool2d_divisor");
        Expect(c, "out", F.avg_pool2d(c.Tensor("x"), new long[] { 2, 3 }, new long[] { 2, 2 }, new long[] { 1, 1 },
            divisor_override: 5));
        c = Case("avg_pool2d_default");
        Expect(c, "out", F.avg_pool2d(c.Tensor("x"), new long[] { 2, 2 }));
    }

    [Fact]
    public void AdaptivePooling()
    {
        using var scope = NewDisposeScope();
        var c = Case("adaptive_avg_pool2d");
        var x = c.Tensor("x");
        Expect(c, "out", F.adaptive_avg_pool2d(x, new long[] { 3, 4 }));
        Expect(c, "out1", F.adaptive_avg_pool2d(x, 1));
        Expect(c, "out_up", F.adaptive_avg_pool2d(x, new long[] { 9, 10 }));
        c = Case("adaptive_max_pool2d");
        Expect(c, "out", F.adaptive_max_pool2d(c.Tensor("x"), new long[] { 3, 4 }));
        var (output, indices) = F.adaptive_max_pool2d_with_indices(c.Tensor("x"), new long[] { 3, 4 });
        Expect(c, "out", output);
        Expect(c, "indices", indices);
    }

    // ---- interpolate, pixel shuffle, pad -------------------------------------------------------------------------

    [Fact]
    public void InterpolateBilinear()
    {
        using var scope = NewDisposeScope();
        var mode = nn.InterpolationMode.Bilinear;
        var c = Case("interp_bilinear_size_align");
        Expect(c, "out", F.interpolate(c.Tensor("x"), size: new long[] { 8, 11 }, mode: mode, align_corners: true));
        c = Case("interp_bilinear_size");
        Expect(c, "out", F.interpolate(c.Tensor("x"), size: new long[] { 8, 11 }, mode: mode, align_corners: false));
        c = Case("interp_bilinear_scale2");
        Expect(c, "out", F.interpolate(c.Tensor("x"), scale_factor: new[] { 2.0 }, mode: mode, align_corners: false));
        c = Case("interp_bilinear_scale_half");
        Expect(c, "out", F.interpolate(c.Tensor("x"), scale_factor: new[] { 0.5 }, mode: mode));
        c = Case("interp_bilinear_scale_recompute");
        Expect(c, "out", F.interpolate(c.Tensor("x"), scale_factor: new[] { 1.7 }, mode: mode, align_corners: false,
            recompute_scale_factor: true));
    }

    [Fact]
    public void InterpolateNearestBicubicArea()
    {
        using var scope = NewDisposeScope();
        var c = Case("interp_nearest_size");
        Expect(c, "out", F.interpolate(c.Tensor("x"), size: new long[] { 8, 11 }));
        c = Case("interp_nearest_scale");
        Expect(c, "out", F.interpolate(c.Tensor("x"), scale_factor: new[] { 2.0, 3.0 }, mode: nn.InterpolationMode.Nearest));
        c = Case("interp_nearest_scale_half");
        Expect(c, "out", F.interpolate(c.Tensor("x"), scale_factor: new[] { 0.5 }));
        c = Case("interp_bicubic");
        Expect(c, "out", F.interpolate(c.Tensor("x"), size: new long[] { 9, 12 }, mode: nn.InterpolationMode.Bicubic,
            align_corners: false));
        c = Case("interp_bicubic_align");
        Expect(c, "out", F.interpolate(c.Tensor("x"), size: new long[] { 9, 12 }, mode: nn.InterpolationMode.Bicubic,
            align_corners: true));
        c = Case("interp_bicubic_scale");
        Expect(c, "out", F.interpolate(c.Tensor("x"), scale_factor: new[] { 1.5 }, mode: nn.InterpolationMode.Bicubic));
        c = Case("interp_area_size");
        Expect(c, "out", F.interpolate(c.Tensor("x"), size: new long[] { 4, 5 }, mode: nn.InterpolationMode.Area));
        c = Case("interp_area_scale");
        Expect(c, "out", F.interpolate(c.Tensor("x"), scale_factor: new[] { 0.5 }, mode: nn.InterpolationMode.Area));
    }

    [Fact]
    public void PixelAndChannelShuffle()
    {
        using var scope = NewDisposeScope();
        var c = Case("pixel_shuffle");
        Expect(c, "out", F.pixel_shuffle(c.Tensor("x"), 2));
        c = Case("pixel_unshuffle");
        Expect(c, "out", F.pixel_unshuffle(c.Tensor("x"), 2));
        c = Case("channel_shuffle");
        Expect(c, "out", F.channel_shuffle(c.Tensor("x"), 3));
    }

    [Fact]
    public void Pad()
    {
        using var scope = NewDisposeScope();
        var c = Case("pad_constant");
        Expect(c, "out", F.pad(c.Tensor("x"), Ls(c, "pad"), nn.PaddingModes.Constant, D(c, "value")));
        c = Case("pad_constant_negative");
        Expect(c, "out", F.pad(c.Tensor("x"), Ls(c, "pad")));
        c = Case("pad_reflect");
        Expect(c, "out", F.pad(c.Tensor("x"), Ls(c, "pad"), nn.PaddingModes.Reflect));
        c = Case("pad_replicate");
        Expect(c, "out", F.pad(c.Tensor("x"), Ls(c, "pad"), nn.PaddingModes.Replicate));
        c = Case("pad_circular");
        Expect(c, "out", F.pad(c.Tensor("x"), Ls(c, "pad"), nn.PaddingModes.Circular));
    }

    // ---- activations, softmax, normalize -------------------------------------------------------------------------

    [Fact]
    public void Activations()
    {
        using var scope = NewDisposeScope();
        var c = Case("activations");
        var x = c.Tensor("x");
        Expect(c, "relu", F.relu(x));
        Expect(c, "relu6", F.relu6(x));
        Expect(c, "leaky_relu", F.leaky_relu(x, 0.2));
        Expect(c, "prelu1", F.prelu(x, c.Tensor("prelu_w1")));
        Expect(c, "prelu3", F.prelu(x, c.Tensor("prelu_w3")));
        Expect(c, "elu", F.elu(x, 0.7));
        Expect(c, "selu", F.selu(x));
        Expect(c, "gelu", F.gelu(x));
        Expect(c, "gelu_tanh", F.gelu(x, "tanh"));
        Expect(c, "silu", F.silu(x));
        Expect(c, "hardswish", F.hardswish(x));
        Expect(c, "hardsigmoid", F.hardsigmoid(x));
        Expect(c, "sigmoid", F.sigmoid(x));
        Expect(c, "tanh", F.tanh(x));
        Expect(c, "hardtanh", F.hardtanh(x, -0.5, 2.0));
        var copy = x.clone();
        F.relu(copy, inplace: true);
        Expect(c, "relu", copy);
    }

    [Fact]
    public void SoftmaxAndLogSoftmax()
    {
        using var scope = NewDisposeScope();
        var c = Case("softmax");
        var x = c.Tensor("x");
        Expect(c, "softmax1", F.softmax(x, 1));
        Expect(c, "softmax1", x.softmax(1));
        Expect(c, "log_softmax_last", F.log_softmax(x, -1));
        Expect(c, "softmax_f64", F.softmax(x, 0, ScalarType.Float64), rtol: 1e-12, atol: 1e-14);
    }

    [Fact]
    public void Normalize()
    {
        using var scope = NewDisposeScope();
        var c = Case("normalize");
        var x = c.Tensor("x");
        Expect(c, "p2_dim1", F.normalize(x, 2.0, 1));
        Expect(c, "p1_dim0", F.normalize(x, 1.0, 0));
        Expect(c, "p3_dim1_eps", F.normalize(x, 3.0, 1, eps: 0.5));
    }

    // ---- losses --------------------------------------------------------------------------------------------------

    [Fact]
    public void CrossEntropyWithIgnoreIndexWeightsAndReductions()
    {
        using var scope = NewDisposeScope();
        var c = Case("cross_entropy");
        var logits = c.Tensor("logits");
        var target = c.Tensor("target");
        var weight = c.Tensor("weight");
        long ignore = L(c, "ignore_index");
        Assert.True((target.eq(ignore)).sum().item<long>() >= 3, "the fixture should ignore some pixels");
        Expect(c, "mean", F.cross_entropy(logits, target, ignore_index: ignore));
        Expect(c, "sum", F.cross_entropy(logits, target, ignore_index: ignore, reduction: nn.Reduction.Sum));
        Expect(c, "none", F.cross_entropy(logits, target, ignore_index: ignore, reduction: nn.Reduction.None));
        Expect(c, "weighted_mean", F.cross_entropy(logits, target, weight, ignore));
        Expect(c, "weighted_none", F.cross_entropy(logits, target, weight, ignore, nn.Reduction.None));
        Expect(c, "smooth_mean", F.cross_entropy(logits, target, ignore_index: ignore, label_smoothing: 0.1));
        Expect(c, "smooth_weighted_mean", F.cross_entropy(logits, target, weight, ignore, label_smoothing: 0.2));
        Expect(c, "smooth_none", F.cross_entropy(logits, target, ignore_index: ignore, reduction: nn.Reduction.None,
            label_smoothing: 0.1));
        Expect(c, "smooth_sum", F.cross_entropy(logits, target, weight, ignore, nn.Reduction.Sum, 0.1));
        c = Case("cross_entropy_2d_default");
        Expect(c, "mean", F.cross_entropy(c.Tensor("logits"), c.Tensor("target")));
    }

    [Fact]
    public void NllLoss()
    {
        using var scope = NewDisposeScope();
        var c = Case("nll_loss");
        var logp = c.Tensor("logp");
        var target = c.Tensor("target");
        long ignore = L(c, "ignore_index");
        Expect(c, "mean", F.nll_loss(logp, target, c.Tensor("weight"), ignore));
        Expect(c, "none", F.nll_loss(logp, target, ignore_index: ignore, reduction: nn.Reduction.None));
    }

    [Fact]
    public void KlDiv()
    {
        using var scope = NewDisposeScope();
        var c = Case("kl_div");
        var input = c.Tensor("input");
        var target = c.Tensor("target");
        Expect(c, "batchmean", F.kl_div(input, target, "batchmean"));
        Expect(c, "mean", F.kl_div(input, target, "mean"));
        Expect(c, "sum", F.kl_div(input, target, "sum"));
        Expect(c, "none", F.kl_div(input, target, "none"));
        Expect(c, "log_target", F.kl_div(input, target.log(), "batchmean", log_target: true));
    }

    [Fact]
    public void MseAndL1()
    {
        using var scope = NewDisposeScope();
        var c = Case("mse_l1");
        var a = c.Tensor("a");
        var b = c.Tensor("b");
        Expect(c, "mse_mean", F.mse_loss(a, b));
        Expect(c, "mse_sum", F.mse_loss(a, b, nn.Reduction.Sum));
        Expect(c, "mse_none", F.mse_loss(a, b, nn.Reduction.None));
        Expect(c, "l1_mean", F.l1_loss(a, b));
    }

    [Fact]
    public void BinaryCrossEntropy()
    {
        using var scope = NewDisposeScope();
        var c = Case("bce_with_logits");
        var x = c.Tensor("x");
        var t = c.Tensor("target");
        var pw = c.Tensor("pos_weight");
        Expect(c, "mean", F.binary_cross_entropy_with_logits(x, t));
        Expect(c, "pos_weight_mean", F.binary_cross_entropy_with_logits(x, t, pos_weight: pw));
        Expect(c, "pos_weight_none", F.binary_cross_entropy_with_logits(x, t, reduction: nn.Reduction.None, pos_weight: pw));
        Expect(c, "weighted_sum", F.binary_cross_entropy_with_logits(x, t, c.Tensor("weight"), nn.Reduction.Sum, pw));
        c = Case("binary_cross_entropy");
        Expect(c, "mean", F.binary_cross_entropy(c.Tensor("p"), c.Tensor("target")));
        Expect(c, "weighted_none", F.binary_cross_entropy(c.Tensor("p"), c.Tensor("target"), c.Tensor("weight"),
            nn.Reduction.None));
    }

    [Fact]
    public void OneHotAndBincount()
    {
        using var scope = NewDisposeScope();
        var c = Case("one_hot");
        var labels = c.Tensor("labels");
        Expect(c, "n5", F.one_hot(labels, 5));
        Expect(c, "inferred", F.one_hot(labels));
        Expect(c, "n7", F.one_hot(labels[0], 7));
        c = Case("bincount");
        var input = c.Tensor("input");
        Expect(c, "plain", bincount(input));
        Expect(c, "weighted_min8", bincount(input, c.Tensor("weights"), 8));
        Expect(c, "plain_min3", bincount(input, minlength: 3));
    }
}
