namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>Parameter initialisation in place, with PyTorch's formulas (<c>torch.nn.init</c>).</summary>
        public static class init
        {
            /// <summary>Non-linearities for <see cref="calculate_gain"/>.</summary>
            public enum NonlinearityType
            {
                /// <summary>Identity (gain 1).</summary>
                Linear,
                /// <summary>Convolution (gain 1).</summary>
                Conv2D,
                /// <summary>Sigmoid (gain 1).</summary>
                Sigmoid,
                /// <summary>Tanh (gain 5/3).</summary>
                Tanh,
                /// <summary>ReLU (gain √2).</summary>
                ReLU,
                /// <summary>Leaky ReLU (gain √(2 / (1 + slope²))).</summary>
                LeakyReLU,
                /// <summary>SELU (gain 3/4).</summary>
                SELU,
            }

            /// <summary>Whether fan_in or fan_out sets the scale of kaiming initialisation.</summary>
            public enum FanInOut
            {
                /// <summary>Preserve the forward pass's variance.</summary>
                FanIn,
                /// <summary>Preserve the backward pass's variance.</summary>
                FanOut,
            }

            /// <summary>The recommended gain for a non-linearity (PyTorch's table).</summary>
            public static double calculate_gain(NonlinearityType nonlinearity, double param = 0.01) => nonlinearity switch
            {
                NonlinearityType.Tanh => 5.0 / 3,
                NonlinearityType.ReLU => Math.Sqrt(2.0),
                NonlinearityType.LeakyReLU => Math.Sqrt(2.0 / (1 + param * param)),
                NonlinearityType.SELU => 3.0 / 4,
                _ => 1.0,
            };

            /// <summary>fan_in and fan_out of a weight: dims 1 and 0 times the receptive field (PyTorch's rule).</summary>
            public static (long fan_in, long fan_out) calculate_fan_in_and_fan_out(Tensor tensor)
            {
                var shape = tensor.shape;
                if (shape.Length < 2)
                    throw new ArgumentException($"fan in and fan out need a tensor of at least 2 dimensions, got shape {Tensor.ShapeString(shape)}");
                long receptive = 1;
                for (int d = 2; d < shape.Length; d++) receptive *= shape[d];
                return (shape[1] * receptive, shape[0] * receptive);
            }

            /// <summary>U(a, b).</summary>
            public static Tensor uniform_(Tensor tensor, double a = 0, double b = 1)
            {
                using (no_grad()) return tensor.uniform_(a, b);
            }

            /// <summary>N(mean, std²).</summary>
            public static Tensor normal_(Tensor tensor, double mean = 0, double std = 1)
            {
                using (no_grad()) return tensor.normal_(mean, std);
            }

            /// <summary>Fills with a constant.</summary>
            public static Tensor constant_(Tensor tensor, double value)
            {
                using (no_grad()) return tensor.fill_(value);
            }

            /// <summary>Fills with zeros.</summary>
            public static Tensor zeros_(Tensor tensor)
            {
                using (no_grad()) return tensor.zero_();
            }

            /// <summary>Fills with ones.</summary>
            public static Tensor ones_(Tensor tensor)
            {
                using (no_grad()) return tensor.fill_(1);
            }

            private static double KaimingStd(Tensor tensor, double a, FanInOut mode, NonlinearityType nonlinearity)
            {
                var (fanIn, fanOut) = calculate_fan_in_and_fan_out(tensor);
                long fan = mode == FanInOut.FanIn ? fanIn : fanOut;
                return calculate_gain(nonlinearity, a) / Math.Sqrt(fan);
            }

            /// <summary>U(−b, b) with b = gain·√(3 / fan) (He et al.).</summary>
            public static Tensor kaiming_uniform_(Tensor tensor, double a = 0, FanInOut mode = FanInOut.FanIn,
                NonlinearityType nonlinearity = NonlinearityType.LeakyReLU)
            {
                double bound = Math.Sqrt(3.0) * KaimingStd(tensor, a, mode, nonlinearity);
                return uniform_(tensor, -bound, bound);
            }

            /// <summary>N(0, std²) with std = gain / √fan (He et al.).</summary>
            public static Tensor kaiming_normal_(Tensor tensor, double a = 0, FanInOut mode = FanInOut.FanIn,
                NonlinearityType nonlinearity = NonlinearityType.LeakyReLU) =>
                normal_(tensor, 0, KaimingStd(tensor, a, mode, nonlinearity));

            /// <summary>U(−b, b) with b = gain·√(6 / (fan_in + fan_out)) (Glorot and Bengio).</summary>
            public static Tensor xavier_uniform_(Tensor tensor, double gain = 1)
            {
                var (fanIn, fanOut) = calculate_fan_in_and_fan_out(tensor);
                double bound = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
                return uniform_(tensor, -bound, bound);
            }

            /// <summary>N(0, std²) with std = gain·√(2 / (fan_in + fan_out)).</summary>
            public static Tensor xavier_normal_(Tensor tensor, double gain = 1)
            {
                var (fanIn, fanOut) = calculate_fan_in_and_fan_out(tensor);
                return normal_(tensor, 0, gain * Math.Sqrt(2.0 / (fanIn + fanOut)));
            }
        }
    }
}
