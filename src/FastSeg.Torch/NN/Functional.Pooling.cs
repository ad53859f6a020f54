using FastSeg.Torch.Interop;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class nn
    {
        public static partial class functional
        {
            /// <summary>2-D max pooling (stride defaults to the kernel size).</summary>
            public static Tensor max_pool2d(Tensor input, long[] kernel_size, long[]? stride = null, long[]? padding = null,
                long[]? dilation = null, bool ceil_mode = false) =>
                Pool(Aten.max_pool2d, input, kernel_size, stride, padding, dilation, ceil_mode).SingleTensor();

            /// <summary>2-D max pooling that also returns the flat index (within each plane) of every maximum.</summary>
            public static (Tensor output, Tensor indices) max_pool2d_with_indices(Tensor input, long[] kernel_size,
                long[]? stride = null, long[]? padding = null, long[]? dilation = null, bool ceil_mode = false) =>
                Pool(Aten.max_pool2d_with_indices, input, kernel_size, stride, padding, dilation, ceil_mode).TwoTensors();

            private static OpResults Pool(AtenOp op, Tensor input, long[] kernel_size, long[]? stride, long[]? padding,
                long[]? dilation, bool ceil_mode)
            {
                var c = new OpCall(op);
                c.Tensor(input);
                c.Ints(kernel_size);
                c.Ints(stride ?? Array.Empty<long>());
                c.Ints(padding ?? Zero2);
                c.Ints(dilation ?? One2);
                c.Bool(ceil_mode);
                return c.Invoke();
            }

            /// <summary>
            /// Scatters pooled values back to the positions <paramref name="indices"/> recorded by
            /// <see cref="max_pool2d_with_indices"/>. Without <paramref name="output_size"/> the size is
            /// (in − 1)·stride − 2·padding + kernel, as in PyTorch.
            /// </summary>
            public static Tensor max_unpool2d(Tensor input, Tensor indices, long[] kernel_size, long[]? stride = null,
                long[]? padding = null, long[]? output_size = null)
            {
                var k = Expand2(kernel_size, nameof(kernel_size));
                var s = stride is null ? k : Expand2(stride, nameof(stride));
                var p = padding is null ? Zero2 : Expand2(padding, nameof(padding));
                var shape = input.shape;
                if (shape.Length < 3) throw new ArgumentException($"max_unpool2d expects a 3-D or 4-D input, got shape {Tensor.ShapeString(shape)}");
                long[] size;
                if (output_size is null)
                {
                    size = new long[2];
                    for (int d = 0; d < 2; d++) size[d] = (shape[shape.Length - 2 + d] - 1) * s[d] - 2 * p[d] + k[d];
                }
                else
                {
                    size = output_size.Length > 2 ? output_size[^2..] : output_size;
                }
                var c = new OpCall(Aten.max_unpool2d);
                c.Tensor(input);
                c.Tensor(indices);
                c.Ints(size);
                return c.InvokeTensor();
            }

            private static long[] Expand2(long[] values, string name) => values.Length switch
            {
                1 => new[] { values[0], values[0] },
                2 => values,
                _ => throw new ArgumentException($"{name} must have 1 or 2 elements, got {values.Length}", name),
            };

            /// <summary>2-D average pooling.</summary>
            public static Tensor avg_pool2d(Tensor input, long[] kernel_size, long[]? stride = null, long[]? padding = null,
                bool ceil_mode = false, bool count_include_pad = true, long? divisor_override = null)
            {
                var c = new OpCall(Aten.avg_pool2d);
                c.Tensor(input);
                c.Ints(kernel_size);
                c.Ints(stride ?? Array.Empty<long>());
                c.Ints(padding ?? Zero2);
                c.Bool(ceil_mode);
                c.Bool(count_include_pad);
                c.OptionalInt(divisor_override);
                return c.InvokeTensor();
            }

            /// <summary>Average pooling to a fixed output size (PyTorch's bin boundaries).</summary>
            public static Tensor adaptive_avg_pool2d(Tensor input, long[] output_size) =>
                Ops.WithInts(Aten.adaptive_avg_pool2d, input, Expand2(output_size, nameof(output_size)));

            /// <summary>Average pooling to output_size × output_size.</summary>
            public static Tensor adaptive_avg_pool2d(Tensor input, long output_size) => adaptive_avg_pool2d(input, new[] { output_size });

            /// <summary>Max pooling to a fixed output size.</summary>
            public static Tensor adaptive_max_pool2d(Tensor input, long[] output_size)
            {
                var (output, indices) = adaptive_max_pool2d_with_indices(input, output_size);
                indices.Dispose();
                return output;
            }

            /// <summary>Max pooling to a fixed output size, with the indices of the maxima.</summary>
            public static (Tensor output, Tensor indices) adaptive_max_pool2d_with_indices(Tensor input, long[] output_size)
            {
                var c = new OpCall(Aten.adaptive_max_pool2d);
                c.Tensor(input);
                c.Ints(Expand2(output_size, nameof(output_size)));
                return c.Invoke().TwoTensors();
            }

            /// <summary>
            /// Resizes the spatial dimensions to <paramref name="size"/> or by <paramref name="scale_factor"/> (exactly
            /// one of them). As in PyTorch, a scale factor is passed on to the kernel unless
            /// <paramref name="recompute_scale_factor"/> is true, in which case only the floored output size is.
            /// <paramref name="align_corners"/> applies to bilinear and bicubic only (default false).
            /// </summary>
            public static Tensor interpolate(Tensor input, long[]? size = null, double[]? scale_factor = null,
                InterpolationMode mode = InterpolationMode.Nearest, bool? align_corners = null, bool? recompute_scale_factor = null)
            {
                if ((size is null) == (scale_factor is null))
                    throw new ArgumentException("interpolate: exactly one of size and scale_factor must be given");
                var shape = input.shape;
                if (shape.Length != 4)
                    throw new ArgumentException($"interpolate supports 4-D (N, C, H, W) inputs, got shape {Tensor.ShapeString(shape)}");
                bool linear = mode is InterpolationMode.Bilinear or InterpolationMode.Bicubic;
                if (align_corners is not null && !linear)
                    throw new ArgumentException("align_corners can only be set with the bilinear and bicubic modes", nameof(align_corners));
                long[]? outSize = size is null ? null : Expand2(size, nameof(size));
                double[]? scales = null;
                if (scale_factor is not null)
                {
                    scales = scale_factor.Length switch
                    {
                        1 => new[] { scale_factor[0], scale_factor[0] },
                        2 => scale_factor,
                        _ => throw new ArgumentException($"scale_factor must have 1 or 2 elements, got {scale_factor.Length}", nameof(scale_factor)),
                    };
                    if (recompute_scale_factor == true || mode == InterpolationMode.Area)
                    {
                        outSize = new[] { (long)Math.Floor(shape[2] * scales[0]), (long)Math.Floor(shape[3] * scales[1]) };
                        scales = null;
                    }
                }
                if (mode == InterpolationMode.Area) return adaptive_avg_pool2d(input, outSize!);
                var c = new OpCall(mode switch
                {
                    InterpolationMode.Nearest => Aten.upsample_nearest2d,
                    InterpolationMode.Bilinear => Aten.upsample_bilinear2d,
                    _ => Aten.upsample_bicubic2d,
                });
                c.Tensor(input);
                c.OptionalInts(outSize);
                if (linear) c.Bool(align_corners ?? false);
                c.OptionalDoubles(scales);
                return c.InvokeTensor();
            }
        }
    }
}
