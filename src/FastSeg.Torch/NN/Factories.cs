using FastSeg.Torch.Modules;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class nn
    {
        private static long[] Pair(long v) => new[] { v, v };

        private static long[] Pair(long[] v, string name) => v.Length switch
        {
            1 => new[] { v[0], v[0] },
            2 => v,
            _ => throw new ArgumentException($"{name} must have 1 or 2 elements, got {v.Length}", name),
        };

        /// <summary>A 2-D convolution with square kernel, stride, padding and dilation.</summary>
        public static Conv2d Conv2d(long in_channels, long out_channels, long kernel_size, long stride = 1, long padding = 0,
            long dilation = 1, long groups = 1, bool bias = true, ScalarType? dtype = null, Device? device = null) =>
            new(in_channels, out_channels, Pair(kernel_size), Pair(stride), Pair(padding), Pair(dilation), groups, bias, dtype, device);

        /// <summary>A 2-D convolution with (h, w) kernel, stride, padding and dilation.</summary>
        public static Conv2d Conv2d(long in_channels, long out_channels, long[] kernel_size, long[]? stride = null,
            long[]? padding = null, long[]? dilation = null, long groups = 1, bool bias = true, ScalarType? dtype = null,
            Device? device = null) =>
            new(in_channels, out_channels, Pair(kernel_size, nameof(kernel_size)), Pair(stride ?? new long[] { 1 }, nameof(stride)),
                Pair(padding ?? new long[] { 0 }, nameof(padding)), Pair(dilation ?? new long[] { 1 }, nameof(dilation)), groups, bias, dtype, device);

        /// <summary>A 2-D transposed convolution.</summary>
        public static ConvTranspose2d ConvTranspose2d(long in_channels, long out_channels, long kernel_size, long stride = 1,
            long padding = 0, long output_padding = 0, long groups = 1, bool bias = true, long dilation = 1,
            ScalarType? dtype = null, Device? device = null) =>
            new(in_channels, out_channels, Pair(kernel_size), Pair(stride), Pair(padding), Pair(output_padding), groups, bias,
                Pair(dilation), dtype, device);

        /// <summary>Batch normalisation over channels of (N, C, H, W); momentum null gives a cumulative average.</summary>
        public static BatchNorm2d BatchNorm2d(long num_features, double eps = 1e-5, double? momentum = 0.1, bool affine = true,
            bool track_running_stats = true, ScalarType? dtype = null, Device? device = null) =>
            new(num_features, eps, momentum, affine, track_running_stats, dtype, device);

        /// <summary>PyTorch's <c>nn.SyncBatchNorm</c>: batch statistics shared by the ranks of a process group.</summary>
        public static class SyncBatchNorm
        {
            /// <summary>
            /// Makes every <see cref="Modules.BatchNorm2d"/> of <paramref name="module"/> a synchronised one: in training,
            /// with more than one rank in <paramref name="process_group"/> (the default group when null), it normalises
            /// with the mean and variance of the global batch and keeps the same running statistics on every rank.
            /// Unlike PyTorch, the modules are converted in place (the network's fields keep pointing at them) and the
            /// same module is returned; parameters, buffers and state-dict keys are unchanged, so checkpoints stay
            /// interchangeable with unsynchronised runs.
            /// </summary>
            public static TModule convert_sync_batchnorm<TModule>(TModule module, distributed.ProcessGroup? process_group = null)
                where TModule : Module
            {
                ArgumentNullException.ThrowIfNull(module);
                var group = process_group ?? distributed.get_default_group();
                foreach (var bn in module.modules().OfType<Modules.BatchNorm2d>()) bn.process_group = group;
                return module;
            }

            /// <summary>Makes every <see cref="Modules.BatchNorm2d"/> of <paramref name="module"/> use its own process's batch again.</summary>
            public static TModule revert_sync_batchnorm<TModule>(TModule module) where TModule : Module
            {
                ArgumentNullException.ThrowIfNull(module);
                foreach (var bn in module.modules().OfType<Modules.BatchNorm2d>()) bn.process_group = null;
                return module;
            }
        }

        /// <summary>A fully connected layer.</summary>
        public static Linear Linear(long in_features, long out_features, bool hasBias = true, ScalarType? dtype = null,
            Device? device = null) => new(in_features, out_features, hasBias, dtype, device);

        /// <summary>max(x, 0).</summary>
        public static Lambda ReLU(bool inplace = false) =>
            new(nameof(ReLU), inplace ? x => x.relu_().alias() : x => x.relu(), inplace ? "inplace=True" : "");

        /// <summary>min(max(x, 0), 6).</summary>
        public static Lambda ReLU6(bool inplace = false) => new(nameof(ReLU6), functional.relu6);

        /// <summary>Leaky ReLU with a fixed slope.</summary>
        public static Lambda LeakyReLU(double negative_slope = 0.01, bool inplace = false) =>
            new(nameof(LeakyReLU), x => functional.leaky_relu(x, negative_slope), $"negative_slope={negative_slope}");

        /// <summary>Leaky ReLU with learned slopes (one shared, or one per channel).</summary>
        public static PReLU PReLU(long num_parameters = 1, double init = 0.25, ScalarType? dtype = null, Device? device = null) =>
            new(num_parameters, init, dtype, device);

        /// <summary>Exponential linear unit.</summary>
        public static Lambda ELU(double alpha = 1.0, bool inplace = false) => new(nameof(ELU), x => functional.elu(x, alpha), $"alpha={alpha}");

        /// <summary>Scaled ELU.</summary>
        public static Lambda SELU(bool inplace = false) => new(nameof(SELU), functional.selu);

        /// <summary>Gaussian error linear unit.</summary>
        public static Lambda GELU(string approximate = "none") => new(nameof(GELU), x => functional.gelu(x, approximate));

        /// <summary>x · σ(x).</summary>
        public static Lambda SiLU(bool inplace = false) => new(nameof(SiLU), functional.silu);

        /// <summary>Hard swish.</summary>
        public static Lambda Hardswish(bool inplace = false) => new(nameof(Hardswish), functional.hardswish);

        /// <summary>Hard sigmoid.</summary>
        public static Lambda Hardsigmoid(bool inplace = false) => new(nameof(Hardsigmoid), functional.hardsigmoid);

        /// <summary>Logistic sigmoid.</summary>
        public static Lambda Sigmoid() => new(nameof(Sigmoid), x => x.sigmoid());

        /// <summary>Hyperbolic tangent.</summary>
        public static Lambda Tanh() => new(nameof(Tanh), x => x.tanh());

        /// <summary>Softmax along <paramref name="dim"/>.</summary>
        public static Softmax Softmax(long dim) => new(dim);

        /// <summary>Returns its input (as a new alias).</summary>
        public static Lambda Identity() => new(nameof(Identity), x => x.alias());

        /// <summary>Flattens dimensions start_dim..end_dim.</summary>
        public static Lambda Flatten(long start_dim = 1, long end_dim = -1) =>
            new(nameof(Flatten), x => x.flatten(start_dim, end_dim), $"start_dim={start_dim}, end_dim={end_dim}");

        /// <summary>Rearranges channels into space.</summary>
        public static Lambda PixelShuffle(long upscale_factor) =>
            new(nameof(PixelShuffle), x => functional.pixel_shuffle(x, upscale_factor), $"upscale_factor={upscale_factor}");

        /// <summary>Element dropout.</summary>
        public static Dropout Dropout(double p = 0.5, bool inplace = false) => new(p, channels: false);

        /// <summary>Channel dropout.</summary>
        public static Dropout Dropout2d(double p = 0.5, bool inplace = false) => new(p, channels: true);

        /// <summary>2-D max pooling.</summary>
        public static MaxPool2d MaxPool2d(long kernel_size, long? stride = null, long padding = 0, long dilation = 1,
            bool ceil_mode = false) =>
            new(Pair(kernel_size), stride is null ? null : Pair(stride.Value), Pair(padding), Pair(dilation), ceil_mode);

        /// <summary>2-D max pooling with (h, w) parameters.</summary>
        public static MaxPool2d MaxPool2d(long[] kernel_size, long[]? stride = null, long[]? padding = null,
            long[]? dilation = null, bool ceil_mode = false) =>
            new(Pair(kernel_size, nameof(kernel_size)), stride is null ? null : Pair(stride, nameof(stride)),
                Pair(padding ?? new long[] { 0 }, nameof(padding)), Pair(dilation ?? new long[] { 1 }, nameof(dilation)), ceil_mode);

        /// <summary>Inverse max pooling.</summary>
        public static MaxUnpool2d MaxUnpool2d(long kernel_size, long? stride = null, long padding = 0) =>
            new(Pair(kernel_size), stride is null ? null : Pair(stride.Value), Pair(padding));

        /// <summary>2-D average pooling.</summary>
        public static AvgPool2d AvgPool2d(long kernel_size, long? stride = null, long padding = 0, bool ceil_mode = false,
            bool count_include_pad = true, long? divisor_override = null) =>
            new(Pair(kernel_size), stride is null ? null : Pair(stride.Value), Pair(padding), ceil_mode, count_include_pad, divisor_override);

        /// <summary>Average pooling to a fixed size.</summary>
        public static AdaptivePool2d AdaptiveAvgPool2d(long output_size) => new(Pair(output_size), max: false);

        /// <summary>Average pooling to a fixed (h, w).</summary>
        public static AdaptivePool2d AdaptiveAvgPool2d(long[] output_size) => new(Pair(output_size, nameof(output_size)), max: false);

        /// <summary>Max pooling to a fixed size.</summary>
        public static AdaptivePool2d AdaptiveMaxPool2d(long output_size) => new(Pair(output_size), max: true);

        /// <summary>Max pooling to a fixed (h, w).</summary>
        public static AdaptivePool2d AdaptiveMaxPool2d(long[] output_size) => new(Pair(output_size, nameof(output_size)), max: true);

        /// <summary>Resizing by size or scale factor.</summary>
        public static Upsample Upsample(long[]? size = null, double[]? scale_factor = null,
            InterpolationMode mode = InterpolationMode.Nearest, bool? align_corners = null) =>
            new(size, scale_factor, mode, align_corners);

        /// <summary>An empty Sequential, to fill with <see cref="Modules.Sequential.append(Module{Tensor, Tensor})"/>.</summary>
        public static Sequential Sequential() => new(Array.Empty<(string, Module<Tensor, Tensor>)>());

        /// <summary>Modules run in order, keyed "0", "1", ...</summary>
        public static Sequential Sequential(params Module<Tensor, Tensor>[] modules) =>
            new(modules.Select((m, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), m)));

        /// <summary>Modules run in order, under the given names.</summary>
        public static Sequential Sequential(params (string name, Module<Tensor, Tensor> module)[] modules) => new(modules);

        /// <summary>A list of modules keyed "0", "1", ...</summary>
        public static ModuleList<T> ModuleList<T>(params T[] modules) where T : Module => new(modules);

        /// <summary>Modules by name.</summary>
        public static ModuleDict<T> ModuleDict<T>(params (string name, T module)[] modules) where T : Module => new(modules);
    }
}
