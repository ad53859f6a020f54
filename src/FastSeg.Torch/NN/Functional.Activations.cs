using FastSeg.Torch.Interop;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class nn
    {
        public static partial class functional
        {
            /// <summary>max(x, 0).</summary>
            public static Tensor relu(Tensor x, bool inplace = false) => inplace ? x.relu_() : x.relu();

            /// <summary>min(max(x, 0), 6).</summary>
            public static Tensor relu6(Tensor x) => Ops.Unary(Aten.relu6, x);

            /// <summary>x for x ≥ 0, slope · x otherwise.</summary>
            public static Tensor leaky_relu(Tensor x, double negative_slope = 0.01) => Ops.WithScalar(Aten.leaky_relu, x, negative_slope);

            /// <summary>Leaky ReLU with a learned slope per channel (or one shared slope).</summary>
            public static Tensor prelu(Tensor x, Tensor weight) => Ops.Binary(Aten.prelu, x, weight);

            /// <summary>x for x &gt; 0, α(eˣ − 1) otherwise.</summary>
            public static Tensor elu(Tensor x, double alpha = 1.0)
            {
                var c = new OpCall(Aten.elu);
                c.Tensor(x);
                c.Scalar(alpha);
                return c.InvokeTensor();
            }

            /// <summary>Scaled ELU with the self-normalising constants.</summary>
            public static Tensor selu(Tensor x) => Ops.Unary(Aten.selu, x);

            /// <summary>Gaussian error linear unit; <paramref name="approximate"/> is "none" or "tanh".</summary>
            public static Tensor gelu(Tensor x, string approximate = "none")
            {
                var c = new OpCall(Aten.gelu);
                c.Tensor(x);
                c.String(approximate);
                return c.InvokeTensor();
            }

            /// <summary>x · σ(x).</summary>
            public static Tensor silu(Tensor x) => Ops.Unary(Aten.silu, x);

            /// <summary>x · relu6(x + 3) / 6.</summary>
            public static Tensor hardswish(Tensor x) => Ops.Unary(Aten.hardswish, x);

            /// <summary>relu6(x + 3) / 6.</summary>
            public static Tensor hardsigmoid(Tensor x) => Ops.Unary(Aten.hardsigmoid, x);

            /// <summary>Clamps to [min_val, max_val].</summary>
            public static Tensor hardtanh(Tensor x, double min_val = -1, double max_val = 1)
            {
                var c = new OpCall(Aten.hardtanh);
                c.Tensor(x);
                c.Scalar(min_val);
                c.Scalar(max_val);
                return c.InvokeTensor();
            }

            /// <summary>Logistic sigmoid.</summary>
            public static Tensor sigmoid(Tensor x) => x.sigmoid();

            /// <summary>Hyperbolic tangent.</summary>
            public static Tensor tanh(Tensor x) => x.tanh();

            /// <summary>Softmax along <paramref name="dim"/>, optionally computed in <paramref name="dtype"/>.</summary>
            public static Tensor softmax(Tensor x, long dim, ScalarType? dtype = null)
            {
                var c = new OpCall(Aten.softmax);
                c.Tensor(x);
                c.Int(dim);
                c.OptionalDType(dtype);
                return c.InvokeTensor();
            }

            /// <summary>Log-softmax along <paramref name="dim"/>.</summary>
            public static Tensor log_softmax(Tensor x, long dim, ScalarType? dtype = null)
            {
                var c = new OpCall(Aten.log_softmax);
                c.Tensor(x);
                c.Int(dim);
                c.OptionalDType(dtype);
                return c.InvokeTensor();
            }
        }
    }
}
