namespace FastSeg.Torch;

/// <summary>What a <see cref="Scalar"/> holds.</summary>
public enum ScalarKind
{
    /// <summary>A 64-bit integer.</summary>
    Integer,
    /// <summary>A double-precision float.</summary>
    Floating,
    /// <summary>A boolean.</summary>
    Boolean,
}

/// <summary>
/// A number passed to an operator as a scalar (PyTorch's <c>Scalar</c>). Integers stay integers, so adding <c>1</c>
/// to an int64 tensor keeps it int64, while adding <c>1.0</c> promotes it to float as in PyTorch.
/// </summary>
public readonly struct Scalar : IEquatable<Scalar>
{
    private Scalar(ScalarKind kind, long i, double d)
    {
        Kind = kind;
        IntValue = i;
        DoubleValue = d;
    }

    /// <summary>What this scalar holds.</summary>
    public ScalarKind Kind { get; }

    internal long IntValue { get; }

    internal double DoubleValue { get; }

    /// <summary>The value as a double.</summary>
    public double ToDouble() => Kind == ScalarKind.Floating ? DoubleValue : IntValue;

    /// <summary>The value as a 64-bit integer (floats are truncated).</summary>
    public long ToInt64() => Kind == ScalarKind.Floating ? (long)DoubleValue : IntValue;

    /// <summary>An integer scalar.</summary>
    public static implicit operator Scalar(int value) => new(ScalarKind.Integer, value, 0);

    /// <summary>An integer scalar.</summary>
    public static implicit operator Scalar(long value) => new(ScalarKind.Integer, value, 0);

    /// <summary>A floating scalar.</summary>
    public static implicit operator Scalar(float value) => new(ScalarKind.Floating, 0, value);

    /// <summary>A floating scalar.</summary>
    public static implicit operator Scalar(double value) => new(ScalarKind.Floating, 0, value);

    /// <summary>A boolean scalar.</summary>
    public static implicit operator Scalar(bool value) => new(ScalarKind.Boolean, value ? 1 : 0, 0);

    /// <inheritdoc />
    public bool Equals(Scalar other) => Kind == other.Kind && IntValue == other.IntValue && DoubleValue.Equals(other.DoubleValue);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Scalar s && Equals(s);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Kind, IntValue, DoubleValue);

    /// <summary>Equality of kind and value.</summary>
    public static bool operator ==(Scalar a, Scalar b) => a.Equals(b);

    /// <summary>Inequality of kind or value.</summary>
    public static bool operator !=(Scalar a, Scalar b) => !a.Equals(b);

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        ScalarKind.Integer => IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ScalarKind.Boolean => IntValue != 0 ? "True" : "False",
        _ => DoubleValue.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
    };
}
