using System.Text.Json;
using FastSeg.Torch;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Tests;

/// <summary>
/// Reads the JSON fixtures written by tools/*.py with Debian's python3-torch. A tensor is stored as
/// <c>{"shape": [...], "dtype": "float32", "data": [...]}</c> with the data flattened in row-major order.
/// </summary>
public static class Fixture
{
    private static readonly Dictionary<string, JsonDocument> Cache = new();

    public static string PathOf(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", file);

    /// <summary>The case <paramref name="name"/> of fixture file <paramref name="file"/>.</summary>
    public static JsonElement Case(string file, string name)
    {
        JsonDocument doc;
        lock (Cache)
        {
            if (!Cache.TryGetValue(file, out doc!))
            {
                doc = JsonDocument.Parse(File.ReadAllText(PathOf(file)));
                Cache[file] = doc;
            }
        }
        if (!doc.RootElement.TryGetProperty(name, out var c))
            throw new KeyNotFoundException($"fixture {file} has no case '{name}'");
        return c;
    }

    public static ScalarType ParseDType(string dtype) => dtype switch
    {
        "float32" => ScalarType.Float32,
        "float64" => ScalarType.Float64,
        "float16" => ScalarType.Float16,
        "bfloat16" => ScalarType.BFloat16,
        "int64" => ScalarType.Int64,
        "int32" => ScalarType.Int32,
        "uint8" => ScalarType.Byte,
        "bool" => ScalarType.Bool,
        _ => throw new ArgumentException($"unknown fixture dtype {dtype}"),
    };

    /// <summary>Builds the tensor stored at <paramref name="e"/> (values go through float64, exact for all listed dtypes).</summary>
    public static Tensor ToTensor(JsonElement e)
    {
        var shape = e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        var dtype = ParseDType(e.GetProperty("dtype").GetString()!);
        var data = e.GetProperty("data").EnumerateArray().Select(ReadNumber).ToArray();
        if (dtype == ScalarType.Int64 || dtype == ScalarType.Int32 || dtype == ScalarType.Byte)
        {
            var ints = data.Select(d => (long)d).ToArray();
            return tensor(ints, shape, dtype);
        }
        return tensor(data, shape, dtype);
    }

    private static double ReadNumber(JsonElement x) => x.ValueKind switch
    {
        JsonValueKind.True => 1,
        JsonValueKind.False => 0,
        JsonValueKind.String => x.GetString() switch
        {
            "nan" => double.NaN,
            "inf" => double.PositiveInfinity,
            "-inf" => double.NegativeInfinity,
            var s => throw new FormatException($"bad number {s}"),
        },
        _ => x.GetDouble(),
    };

    /// <summary>The tensor stored under property <paramref name="key"/> of <paramref name="c"/>.</summary>
    public static Tensor Tensor(this JsonElement c, string key) => ToTensor(c.GetProperty(key));
}
