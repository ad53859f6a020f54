namespace FastSeg.Torch;

public static partial class torch
{
    /// <summary>Element types of tensors (values equal libtorch's <c>c10::ScalarType</c>).</summary>
    public enum ScalarType : sbyte
    {
        /// <summary>uint8.</summary>
        Byte = 0,
        /// <summary>int8.</summary>
        Int8 = 1,
        /// <summary>int16.</summary>
        Int16 = 2,
        /// <summary>int32.</summary>
        Int32 = 3,
        /// <summary>int64.</summary>
        Int64 = 4,
        /// <summary>IEEE half precision.</summary>
        Float16 = 5,
        /// <summary>float32.</summary>
        Float32 = 6,
        /// <summary>float64.</summary>
        Float64 = 7,
        /// <summary>complex64.</summary>
        ComplexFloat32 = 9,
        /// <summary>complex128.</summary>
        ComplexFloat64 = 10,
        /// <summary>bool.</summary>
        Bool = 11,
        /// <summary>brain floating point (8-bit exponent, 7-bit mantissa).</summary>
        BFloat16 = 15,
    }

    /// <summary>uint8.</summary>
    public const ScalarType uint8 = ScalarType.Byte;
    /// <summary>int8.</summary>
    public const ScalarType int8 = ScalarType.Int8;
    /// <summary>int16.</summary>
    public const ScalarType int16 = ScalarType.Int16;
    /// <summary>int32.</summary>
    public const ScalarType int32 = ScalarType.Int32;
    /// <summary>int64.</summary>
    public const ScalarType int64 = ScalarType.Int64;
    /// <summary>float16.</summary>
    public const ScalarType float16 = ScalarType.Float16;
    /// <summary>float16.</summary>
    public const ScalarType half = ScalarType.Float16;
    /// <summary>bfloat16.</summary>
    public const ScalarType bfloat16 = ScalarType.BFloat16;
    /// <summary>float32.</summary>
    public const ScalarType float32 = ScalarType.Float32;
    /// <summary>float64.</summary>
    public const ScalarType float64 = ScalarType.Float64;
    /// <summary>bool.</summary>
    public const ScalarType @bool = ScalarType.Bool;

    /// <summary>Whether <paramref name="type"/> is a floating-point type.</summary>
    public static bool is_floating_point(ScalarType type) =>
        type is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;

    /// <summary>Whether <paramref name="type"/> is an integer type (bool excluded).</summary>
    public static bool is_integral(ScalarType type) =>
        type is ScalarType.Byte or ScalarType.Int8 or ScalarType.Int16 or ScalarType.Int32 or ScalarType.Int64;

    /// <summary>Size in bytes of one element of <paramref name="type"/>.</summary>
    public static int element_size(ScalarType type) => type switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.ComplexFloat64 => 16,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown scalar type"),
    };

    /// <summary>The scalar type whose elements are .NET values of type <typeparamref name="T"/>.</summary>
    internal static ScalarType ScalarTypeOf<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return ScalarType.Float32;
        if (typeof(T) == typeof(double)) return ScalarType.Float64;
        if (typeof(T) == typeof(long)) return ScalarType.Int64;
        if (typeof(T) == typeof(int)) return ScalarType.Int32;
        if (typeof(T) == typeof(short)) return ScalarType.Int16;
        if (typeof(T) == typeof(byte)) return ScalarType.Byte;
        if (typeof(T) == typeof(sbyte)) return ScalarType.Int8;
        if (typeof(T) == typeof(bool)) return ScalarType.Bool;
        if (typeof(T) == typeof(Half)) return ScalarType.Float16;
        throw new NotSupportedException($"no tensor element type corresponds to {typeof(T).Name}; use float, double, " +
                                        "long, int, short, byte, sbyte, bool or Half");
    }
}
