namespace FastSeg.Torch;

public static partial class torch
{
    /// <summary>Memory layouts of dense tensors (values equal libtorch's <c>c10::MemoryFormat</c>).</summary>
    public enum MemoryFormat
    {
        /// <summary>Row-major (NCHW for images).</summary>
        Contiguous = 0,
        /// <summary>Keep the source's layout.</summary>
        Preserve = 1,
        /// <summary>NHWC strides for 4-D tensors; faster convolutions on oneDNN and tensor cores.</summary>
        ChannelsLast = 2,
        /// <summary>NDHWC strides for 5-D tensors.</summary>
        ChannelsLast3d = 3,
    }

    /// <summary>Row-major layout.</summary>
    public const MemoryFormat contiguous_format = MemoryFormat.Contiguous;

    /// <summary>NHWC layout.</summary>
    public const MemoryFormat channels_last = MemoryFormat.ChannelsLast;

    /// <summary>Keep the source's layout.</summary>
    public const MemoryFormat preserve_format = MemoryFormat.Preserve;
}
