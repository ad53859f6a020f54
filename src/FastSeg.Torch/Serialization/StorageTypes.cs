using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Serialization;

/// <summary>The typed-storage class names of PyTorch's pickles (<c>torch.FloatStorage</c>, ...) and their dtypes.</summary>
internal static class StorageTypes
{
    private static readonly (string Name, ScalarType Type)[] Table =
    {
        ("FloatStorage", ScalarType.Float32),
        ("DoubleStorage", ScalarType.Float64),
        ("HalfStorage", ScalarType.Float16),
        ("BFloat16Storage", ScalarType.BFloat16),
        ("LongStorage", ScalarType.Int64),
        ("IntStorage", ScalarType.Int32),
        ("ShortStorage", ScalarType.Int16),
        ("CharStorage", ScalarType.Int8),
        ("ByteStorage", ScalarType.Byte),
        ("BoolStorage", ScalarType.Bool),
        ("ComplexFloatStorage", ScalarType.ComplexFloat32),
        ("ComplexDoubleStorage", ScalarType.ComplexFloat64),
    };

    /// <summary>The dtype of the storage class <paramref name="name"/>, or null when it is not one.</summary>
    public static ScalarType? DTypeOf(string name)
    {
        foreach (var (n, t) in Table)
            if (n == name) return t;
        return null;
    }

    /// <summary>The storage class name for <paramref name="type"/>.</summary>
    public static string NameOf(ScalarType type)
    {
        foreach (var (n, t) in Table)
            if (t == type) return n;
        throw new NotSupportedException($"tensors of dtype {type} cannot be saved");
    }
}
