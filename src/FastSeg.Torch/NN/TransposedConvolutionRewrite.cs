using FastSeg.Torch.Modules;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// What <see cref="utils.rewrite_transposed_convolutions"/> did, and the owner of the converted kernels: disposing
        /// it frees them and gives every rewritten module its ordinary forward back.
        /// </summary>
        public sealed class TransposedConvolutionRewrite : IDisposable
        {
            private readonly List<(ConvTranspose2d Module, Tensor Kernel, Tensor? Bias)> _rewritten;
            private bool _disposed;

            internal TransposedConvolutionRewrite(List<(ConvTranspose2d, Tensor, Tensor?)> rewritten, IReadOnlyList<string> names,
                IReadOnlyList<(string Module, string Reason)> kept)
            {
                _rewritten = rewritten;
                Rewritten = names;
                Kept = kept;
            }

            /// <summary>The dotted names of the transposed convolutions that now run as convolutions.</summary>
            public IReadOnlyList<string> Rewritten { get; }

            /// <summary>Transposed convolutions left as they were, with the reason.</summary>
            public IReadOnlyList<(string Module, string Reason)> Kept { get; }

            /// <summary>Frees the converted kernels; the modules run libtorch's transposed convolution again.</summary>
            public void Dispose()
            {
                if (_disposed) return;
                _disposed = true;
                foreach (var (module, kernel, bias) in _rewritten)
                {
                    module.CallReplacement = null;
                    kernel.Dispose();
                    bias?.Dispose();
                }
            }
        }

        public static partial class utils
        {
            /// <summary>
            /// Makes every <see cref="ConvTranspose2d"/> in <paramref name="module"/> (evaluation only) run as an ordinary
            /// convolution, for speed: libtorch 1.13 computes transposed convolutions on the CPU with its slow im2col
            /// kernel (<c>slow_conv_transpose2d</c>, 75-85 % of ERFNet's and ADSCNet's frame at 1024x512), while a
            /// convolution runs in oneDNN. A transposed convolution with stride s, padding p, dilation d and output
            /// padding q equals a stride-1 convolution, dilation d, with the kernel transposed (per group) and flipped,
            /// over the input with s − 1 zeros between neighbouring pixels and d(k − 1) − p zeros around it (q more at the
            /// bottom and right). The kernel is converted once, to <paramref name="dtype"/> and <paramref name="format"/>;
            /// the zero-interleaved input is built in one allocation per call, in <paramref name="dtype"/>, and the
            /// output is returned in the input's dtype (so a bfloat16 network can keep these layers in float32). Modules whose padding exceeds d(k − 1)
            /// are left as they are (none in the zoo).
            /// </summary>
            /// <param name="module">The network (its transposed convolutions' weights are read, not changed).</param>
            /// <param name="dtype">The precision these layers compute in (float32, or bfloat16).</param>
            /// <param name="format">The memory format of the network's activations.</param>
            public static TransposedConvolutionRewrite rewrite_transposed_convolutions(Module module, ScalarType dtype, MemoryFormat format)
            {
                ArgumentNullException.ThrowIfNull(module);
                var rewritten = new List<(ConvTranspose2d, Tensor, Tensor?)>();
                var names = new List<string>();
                var kept = new List<(string, string)>();
                using var noGrad = no_grad();
                foreach (var (name, m) in module.named_modules())
                {
                    if (m is not ConvTranspose2d deconv) continue;
                    long[] k = deconv.kernel_size, s = deconv.stride, p = deconv.padding, d = deconv.dilation, q = deconv.output_padding;
                    var before = new[] { d[0] * (k[0] - 1) - p[0], d[1] * (k[1] - 1) - p[1] };
                    if (before[0] < 0 || before[1] < 0)
                    {
                        kept.Add((name, $"padding {p[0]}x{p[1]} exceeds dilation·(kernel − 1)"));
                        continue;
                    }
                    long g = deconv.groups, cin = deconv.in_channels, cout = deconv.out_channels;
                    Tensor kernel;
                    using (var scope = NewDisposeScope())
                    {
                        // (in, out/g, kh, kw) → per group (out/g, in/g) → (out, in/g, kh, kw), flipped in space.
                        kernel = deconv.weight.view(g, cin / g, cout / g, k[0], k[1]).transpose(1, 2).reshape(cout, cin / g, k[0], k[1])
                            .flip(2, 3).to(dtype).contiguous(format).MoveToOuterDisposeScope();
                    }
                    var bias = deconv.bias?.to(dtype);
                    kernel.DetachFromDisposeScope();
                    bias?.DetachFromDisposeScope();
                    rewritten.Add((deconv, kernel, bias));
                    names.Add(name);
                    deconv.CallReplacement = x => ConvolveInterleaved(x, kernel, bias, s, before, q, d, g, format);
                }
                return new TransposedConvolutionRewrite(rewritten, names, kept);
            }

            private static Tensor ConvolveInterleaved(Tensor x, Tensor kernel, Tensor? bias, long[] stride, long[] before, long[] extra,
                long[] dilation, long groups, MemoryFormat format)
            {
                using var scope = NewDisposeScope();
                var inputType = x.dtype;
                if (x.dtype != kernel.dtype) x = x.to(kernel.dtype);
                long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
                long spreadH = (h - 1) * stride[0] + 1, spreadW = (w - 1) * stride[1] + 1;
                long gridH = before[0] + spreadH + before[0] + extra[0], gridW = before[1] + spreadW + before[1] + extra[1];
                // Channels-last zeros are NHWC zeros seen through a permutation: no layout copy.
                var grid = format == MemoryFormat.ChannelsLast
                    ? zeros(new[] { n, gridH, gridW, c }, x.dtype, x.device).permute(0, 3, 1, 2)
                    : zeros(new[] { n, c, gridH, gridW }, x.dtype, x.device);
                grid.slice(2, before[0], before[0] + spreadH, stride[0]).slice(3, before[1], before[1] + spreadW, stride[1]).copy_(x);
                var y = functional.conv2d(grid, kernel, bias, stride: null, padding: (long[]?)null, dilation: dilation, groups: groups);
                return (y.dtype == inputType ? y : y.to(inputType)).MoveToOuterDisposeScope();
            }
        }
    }
}
