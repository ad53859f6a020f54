using System.Collections;
using System.Globalization;

namespace FastSeg.Torch.Optim;

/// <summary>
/// Conversions for the loosely typed values that optimizer options and state dictionaries hold (ints as long, floats
/// as double, tuples as object?[], None as null), tolerant of the other numeric types a caller or an unpickler may use.
/// </summary>
internal static class OptionValues
{
    public static double ToDouble(object? value, string what) => value switch
    {
        double d => d,
        float f => f,
        long l => l,
        int i => i,
        short s => s,
        byte b => b,
        decimal m => (double)m,
        _ => throw new InvalidCastException($"{what} must be a number, but it is {Describe(value)}"),
    };

    public static long ToLong(object? value, string what) => value switch
    {
        long l => l,
        int i => i,
        short s => s,
        byte b => b,
        double d when d == Math.Floor(d) && Math.Abs(d) < 9.2e18 => (long)d,
        float f when f == MathF.Floor(f) => (long)f,
        _ => throw new InvalidCastException($"{what} must be an integer, but it is {Describe(value)}"),
    };

    public static int ToInt(object? value, string what)
    {
        long l = ToLong(value, what);
        if (l < int.MinValue || l > int.MaxValue) throw new OverflowException($"{what} ({l}) does not fit in an int");
        return (int)l;
    }

    public static bool ToBool(object? value, string what) => value switch
    {
        bool b => b,
        _ => throw new InvalidCastException($"{what} must be a bool, but it is {Describe(value)}"),
    };

    public static IList ToList(object? value, string what) => value switch
    {
        IList list => list,
        _ => throw new InvalidCastException($"{what} must be a list or tuple, but it is {Describe(value)}"),
    };

    public static double[] ToDoubles(object? value, string what)
    {
        var list = ToList(value, what);
        var result = new double[list.Count];
        for (int k = 0; k < result.Length; k++) result[k] = ToDouble(list[k], $"{what}[{k}]");
        return result;
    }

    public static (double, double) ToPair(object? value, string what)
    {
        var list = ToList(value, what);
        if (list.Count != 2) throw new ArgumentException($"{what} must hold two numbers, but it holds {list.Count}");
        return (ToDouble(list[0], what + "[0]"), ToDouble(list[1], what + "[1]"));
    }

    /// <summary>A copy of containers (dictionaries, lists, tuples); leaves and tensors are shared.</summary>
    public static object? CopyContainers(object? value) => value switch
    {
        Dictionary<string, object?> d => d.ToDictionary(kv => kv.Key, kv => CopyContainers(kv.Value)),
        Dictionary<long, object?> d => d.ToDictionary(kv => kv.Key, kv => CopyContainers(kv.Value)),
        object?[] a => a.Select(CopyContainers).ToArray(),
        IDictionary d => CopyDictionary(d),
        IList l and not Array => l.Cast<object?>().Select(CopyContainers).ToList(),
        _ => value,
    };

    private static Dictionary<object, object?> CopyDictionary(IDictionary d)
    {
        var copy = new Dictionary<object, object?>();
        foreach (DictionaryEntry e in d) copy[e.Key] = CopyContainers(e.Value);
        return copy;
    }

    public static string Describe(object? value) => value switch
    {
        null => "null",
        string s => $"the string \"{s}\"",
        IFormattable f => $"{f.ToString(null, CultureInfo.InvariantCulture)} ({value.GetType().Name})",
        _ => $"a {value.GetType().Name}",
    };
}
