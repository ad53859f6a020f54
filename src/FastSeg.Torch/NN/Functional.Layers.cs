using FastSeg.Torch.Interop;
using FastSeg.Torch.Profiling;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>Stateless neural-network functions (PyTorch's <c>torch.nn.functional</c>).</summary>
        public static partial class functional
        {
            private static readonly long[] One2 = { 1, 1 };
            private static readonly long[] Zero2 = { 0, 0 };

            /// <summary>
            /// 2-D convolution. <paramref name="weight"/> is (out, in/groups, kH, kW); depthwise convolutions use
            /// groups = in channels (a channel multiplier m gives out = m · in).
            /// </summary>
            public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias = null, long[]? stride = null,
                long[]? padding = null, long[]? dilation = null, long groups = 1)
            {
                var c = new OpCall(Aten.conv2d);
                c.Tensor(input);
                c.Tensor(weight);
                c.OptionalTensor(bias);
                c.Ints(stride ?? One2);
                c.Ints(padding ?? Zero2);
                c.Ints(dilation ?? One2);
                c.Int(groups);
                var output = c.InvokeTensor();
                if (MacCounter.Active) MacCounter.Conv2d(output, weight);
                return output;
            }

            /// <summary>2-D convolution with padding "same" or "valid".</summary>
            public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias, long[]? stride, string padding,
                long[]? dilation = null, long groups = 1)
            {
                var c = new OpCall(Aten.conv2d_padding);
                c.Tensor(input);
                c.Tensor(weight);
                c.OptionalTensor(bias);
                c.Ints(stride ?? One2);
                c.String(padding);
                c.Ints(dilation ?? One2);
                c.Int(groups);
                var output = c.InvokeTensor();
                if (MacCounter.Active) MacCounter.Conv2d(output, weight);
                return output;
            }

            /// <summary>2-D transposed convolution; <paramref name="weight"/> is (in, out/groups, kH, kW).</summary>
            public static Tensor conv_transpose2d(Tensor input, Tensor weight, Tensor? bias = null, long[]? stride = null,
                long[]? padding = null, long[]? output_padding = null, long groups = 1, long[]? dilation = null)
            {
                var c = new OpCall(Aten.conv_transpose2d);
                c.Tensor(input);
                c.Tensor(weight);
                c.OptionalTensor(bias);
                c.Ints(stride ?? One2);
                c.Ints(padding ?? Zero2);
                c.Ints(output_padding ?? Zero2);
                c.Int(groups);
                c.Ints(dilation ?? One2);
                var output = c.InvokeTensor();
                if (MacCounter.Active) MacCounter.ConvTranspose2d(input, weight);
                return output;
            }

            /// <summary>
            /// Batch normalisation. In training it normalises by batch statistics and updates the running ones in place
            /// (momentum-weighted, unbiased variance); in eval it uses the running statistics.
            /// </summary>
            public static Tensor batch_norm(Tensor input, Tensor? running_mean, Tensor? running_var, Tensor? weight = null,
                Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5)
            {
                var c = new OpCall(Aten.batch_norm);
                c.Tensor(input);
                c.OptionalTensor(weight);
                c.OptionalTensor(bias);
                c.OptionalTensor(running_mean);
                c.OptionalTensor(running_var);
                c.Bool(training);
                c.Double(momentum);
                c.Double(eps);
                c.Bool(true);
                return c.InvokeTensor();
            }

            /// <summary>Layer normalisation over the trailing <paramref name="normalized_shape"/> dimensions.</summary>
            public static Tensor layer_norm(Tensor input, long[] normalized_shape, Tensor? weight = null, Tensor? bias = null,
                double eps = 1e-5)
            {
                var c = new OpCall(Aten.layer_norm);
                c.Tensor(input);
                c.Ints(normalized_shape);
                c.OptionalTensor(weight);
                c.OptionalTensor(bias);
                c.Double(eps);
                return c.InvokeTensor();
            }

            /// <summary>Group normalisation.</summary>
            public static Tensor group_norm(Tensor input, long num_groups, Tensor? weight = null, Tensor? bias = null,
                double eps = 1e-5)
            {
                var c = new OpCall(Aten.group_norm);
                c.Tensor(input);
                c.Int(num_groups);
                c.OptionalTensor(weight);
                c.OptionalTensor(bias);
                c.Double(eps);
                return c.InvokeTensor();
            }

            /// <summary>x · Wᵀ + b.</summary>
            public static Tensor linear(Tensor input, Tensor weight, Tensor? bias = null)
            {
                var c = new OpCall(Aten.linear);
                c.Tensor(input);
                c.Tensor(weight);
                c.OptionalTensor(bias);
                var output = c.InvokeTensor();
                if (MacCounter.Active) MacCounter.Linear(input, weight);
                return output;
            }

            /// <summary>Randomly zeroes elements with probability <paramref name="p"/> and scales the rest by 1/(1−p).</summary>
            public static Tensor dropout(Tensor input, double p = 0.5, bool training = true)
            {
                CheckProbability(p);
                var c = new OpCall(Aten.dropout);
                c.Tensor(input);
                c.Double(p);
                c.Bool(training);
                return c.InvokeTensor();
            }

            /// <summary>Randomly zeroes whole channels with probability <paramref name="p"/>.</summary>
            public static Tensor dropout2d(Tensor input, double p = 0.5, bool training = true)
            {
                CheckProbability(p);
                var c = new OpCall(Aten.feature_dropout);
                c.Tensor(input);
                c.Double(p);
                c.Bool(training);
                return c.InvokeTensor();
            }

            private static void CheckProbability(double p)
            {
                if (p < 0 || p > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability has to be between 0 and 1");
            }

            /// <summary>Rearranges (N, C·r², H, W) into (N, C, H·r, W·r).</summary>
            public static Tensor pixel_shuffle(Tensor input, long upscale_factor) => Ops.WithInt(Aten.pixel_shuffle, input, upscale_factor);

            /// <summary>The inverse of <see cref="pixel_shuffle"/>.</summary>
            public static Tensor pixel_unshuffle(Tensor input, long downscale_factor) => Ops.WithInt(Aten.pixel_unshuffle, input, downscale_factor);

            /// <summary>Interleaves channels across <paramref name="groups"/> (ShuffleNet).</summary>
            public static Tensor channel_shuffle(Tensor input, long groups) => Ops.WithInt(Aten.channel_shuffle, input, groups);

            /// <summary>
            /// Pads the last dimensions: <paramref name="pad"/> lists (left, right, top, bottom, ...) from the last
            /// dimension backwards, as in PyTorch.
            /// </summary>
            public static Tensor pad(Tensor input, long[] pad, PaddingModes mode = PaddingModes.Constant, double value = 0)
            {
                var c = new OpCall(Aten.pad);
                c.Tensor(input);
                c.Ints(pad);
                c.String(mode switch
                {
                    PaddingModes.Constant => "constant",
                    PaddingModes.Reflect => "reflect",
                    PaddingModes.Replicate => "replicate",
                    _ => "circular",
                });
                if (mode == PaddingModes.Constant) c.Double(value);
                else c.None();
                return c.InvokeTensor();
            }

            /// <summary>Divides by the p-norm along <paramref name="dim"/> (at least <paramref name="eps"/>).</summary>
            public static Tensor normalize(Tensor input, double p = 2.0, long dim = 1, double eps = 1e-12)
            {
                using var norm = input.norm(p, new[] { dim }, keepdim: true);
                using var clamped = norm.clamp_min(eps);
                using var expanded = clamped.expand_as(input);
                return input.div(expanded);
            }

            /// <summary>One-hot encoding of int64 class indices (num_classes -1 infers it from the largest index).</summary>
            public static Tensor one_hot(Tensor x, long num_classes = -1) => Ops.WithInt(Aten.one_hot, x, num_classes);
        }
    }

    /// <summary>Counts occurrences of each non-negative int in a 1-D tensor (weighted when <paramref name="weights"/> is given).</summary>
    public static Tensor bincount(Tensor input, Tensor? weights = null, long minlength = 0)
    {
        var c = new OpCall(Aten.bincount);
        c.Tensor(input);
        c.OptionalTensor(weights);
        c.Int(minlength);
        return c.InvokeTensor();
    }
}
