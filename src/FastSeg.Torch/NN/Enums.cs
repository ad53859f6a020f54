namespace FastSeg.Torch;

public static partial class torch
{
    /// <summary>Neural-network building blocks (PyTorch's <c>torch.nn</c>).</summary>
    public static partial class nn
    {
        /// <summary>How a loss reduces its per-element values (values equal libtorch's reduction enum).</summary>
        public enum Reduction
        {
            /// <summary>No reduction: one loss per element.</summary>
            None = 0,
            /// <summary>Average (for weighted losses, divided by the total weight).</summary>
            Mean = 1,
            /// <summary>Sum.</summary>
            Sum = 2,
        }

        /// <summary>Interpolation algorithms of <see cref="functional.interpolate"/>.</summary>
        public enum InterpolationMode
        {
            /// <summary>Nearest neighbour (PyTorch's legacy "nearest").</summary>
            Nearest,
            /// <summary>Bilinear (4-D inputs).</summary>
            Bilinear,
            /// <summary>Bicubic (4-D inputs).</summary>
            Bicubic,
            /// <summary>Area averaging (adaptive average pooling to the target size).</summary>
            Area,
        }

        /// <summary>How <see cref="functional.pad"/> fills the border.</summary>
        public enum PaddingModes
        {
            /// <summary>A constant value.</summary>
            Constant,
            /// <summary>Mirror without repeating the edge.</summary>
            Reflect,
            /// <summary>Repeat the edge.</summary>
            Replicate,
            /// <summary>Wrap around.</summary>
            Circular,
        }
    }
}
