using FastSeg.Torch.Modules;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class nn
    {
        public static partial class utils
        {
            /// <summary>
            /// Converts the floating-point parameters and buffers of <paramref name="module"/> to
            /// <paramref name="dtype"/> for evaluation (PyTorch's <c>module.to(dtype)</c>), except in the modules that
            /// libtorch 1.13 cannot run in a converted bfloat16 or float16 on the CPU (<see cref="Modules.ConvTranspose2d"/> and
            /// <see cref="Modules.MaxUnpool2d"/>): those keep float32 weights and, when called, run in float32 on a converted
            /// copy of their input and convert their output to <paramref name="dtype"/>.
            /// </summary>
            /// <returns>The dotted names of the modules kept in float32.</returns>
            public static IReadOnlyList<string> convert_precision(Module module, ScalarType dtype)
            {
                ArgumentNullException.ThrowIfNull(module);
                if (!is_floating_point(dtype)) throw new ArgumentException($"convert_precision needs a floating-point type, got {dtype}", nameof(dtype));
                bool lowPrecision = dtype is ScalarType.BFloat16 or ScalarType.Float16;
                var kept = new List<string>();
                using var noGrad = no_grad();
                foreach (var (name, m) in module.named_modules())
                {
                    if (lowPrecision && m is ConvTranspose2d deconv)
                    {
                        deconv.CallReplacement = x =>
                        {
                            using var wide = x.to(ScalarType.Float32);
                            using var y = deconv.forward(wide);
                            return y.to(dtype);
                        };
                        kept.Add(name);
                        continue;
                    }
                    if (lowPrecision && m is MaxUnpool2d unpool)
                    {
                        unpool.CallReplacement = (x, indices) =>
                        {
                            using var wide = x.to(ScalarType.Float32);
                            using var y = unpool.forward(wide, indices);
                            return y.to(dtype);
                        };
                        kept.Add(name);
                        continue;
                    }
                    foreach (var t in m.parameters(recurse: false).Cast<Tensor>().Concat(m.buffers(recurse: false)))
                    {
                        if (!is_floating_point(t.dtype) || t.dtype == dtype) continue;
                        using var converted = t.to(dtype);
                        t.set_data(converted);
                    }
                }
                return kept;
            }
        }
    }
}
