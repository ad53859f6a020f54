using System.Collections;
using System.Text.Json;
using FastSeg.Torch;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Tests;

/// <summary>
/// Rebuilds PyTorch state dicts stored with type tags by tools/make_optim_fixtures.py in FastSeg's value model (ints
/// as long, floats as double, tuples as object?[], lists as List&lt;object?&gt;, dicts with int keys as
/// Dictionary&lt;long, object?&gt;, None as null), and compares two such values structurally.
/// </summary>
public static class StateDictFixture
{
    /// <summary>The value stored at <paramref name="e"/>; tensors are created in the current dispose scope.</summary>
    public static object? Decode(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            case JsonValueKind.String:
                return e.GetString();
            case JsonValueKind.Number:
                var raw = e.GetRawText();
                return raw.IndexOfAny(new[] { '.', 'e', 'E' }) >= 0 ? (object)e.GetDouble() : e.GetInt64();
            case JsonValueKind.Array:
                return e.EnumerateArray().Select(Decode).ToList();
            case JsonValueKind.Object:
                if (e.TryGetProperty("__tuple__", out var items)) return items.EnumerateArray().Select(Decode).ToArray();
                if (e.TryGetProperty("__intdict__", out var pairs))
                {
                    var d = new Dictionary<long, object?>();
                    foreach (var pair in pairs.EnumerateArray()) d[pair[0].GetInt64()] = Decode(pair[1]);
                    return d;
                }
                if (e.TryGetProperty("shape", out _) && e.TryGetProperty("dtype", out _) && e.TryGetProperty("data", out _))
                    return Fixture.ToTensor(e);
                var result = new Dictionary<string, object?>();
                foreach (var p in e.EnumerateObject()) result[p.Name] = Decode(p.Value);
                return result;
            default:
                throw new FormatException($"unexpected JSON value {e.ValueKind}");
        }
    }

    /// <summary>The dictionary stored at <paramref name="e"/>.</summary>
    public static Dictionary<string, object?> DecodeDict(JsonElement e) =>
        Decode(e) as Dictionary<string, object?> ?? throw new FormatException("expected a dictionary");

    /// <summary>
    /// Asserts that <paramref name="actual"/> has the same structure, key order and value types as
    /// <paramref name="expected"/>, numbers within <paramref name="rtol"/> (relative) and tensors within
    /// <paramref name="atol"/>. Returns the largest absolute difference seen.
    /// </summary>
    public static double AssertSame(object? expected, object? actual, string path = "", double rtol = 1e-12, double atol = 1e-6)
    {
        switch (expected)
        {
            case null:
                Assert.True(actual is null, $"{path}: expected None, got {Describe(actual)}");
                return 0;
            case bool b:
                Assert.True(actual is bool ab && ab == b, $"{path}: expected {b}, got {Describe(actual)}");
                return 0;
            case long l:
                Assert.True(actual is long al && al == l, $"{path}: expected int {l}, got {Describe(actual)}");
                return 0;
            case double d:
            {
                Assert.True(actual is double, $"{path}: expected float {d:R}, got {Describe(actual)}");
                double diff = Math.Abs((double)actual! - d);
                Assert.True(diff <= rtol * Math.Abs(d) + 1e-300, $"{path}: expected {d:R}, got {(double)actual!:R}");
                return diff;
            }
            case string s:
                Assert.True(actual is string a && a == s, $"{path}: expected '{s}', got {Describe(actual)}");
                return 0;
            case Tensor t:
            {
                var at = Assert.IsAssignableFrom<Tensor>(actual);
                Assert.Equal(t.dtype, at.dtype);
                TensorAssert.Close(t, at, rtol: 0, atol: atol, what: path);
                using var e64 = t.to_type(ScalarType.Float64);
                using var a64 = at.to_type(ScalarType.Float64);
                using var diff = (e64 - a64).abs();
                return diff.numel() == 0 ? 0 : diff.max().item<double>();
            }
            case object?[] tuple:
            {
                var at = Assert.IsType<object?[]>(actual);
                Assert.True(tuple.Length == at.Length, $"{path}: expected a tuple of {tuple.Length}, got {at.Length}");
                double worst = 0;
                for (int k = 0; k < tuple.Length; k++) worst = Math.Max(worst, AssertSame(tuple[k], at[k], $"{path}[{k}]", rtol, atol));
                return worst;
            }
            case List<object?> list:
            {
                var alist = Assert.IsType<List<object?>>(actual);
                Assert.True(list.Count == alist.Count, $"{path}: expected a list of {list.Count}, got {alist.Count}");
                double worst = 0;
                for (int k = 0; k < list.Count; k++) worst = Math.Max(worst, AssertSame(list[k], alist[k], $"{path}[{k}]", rtol, atol));
                return worst;
            }
            case Dictionary<long, object?> dict:
            {
                var ad = Assert.IsType<Dictionary<long, object?>>(actual);
                Assert.Equal(dict.Keys.ToList(), ad.Keys.ToList());
                double worst = 0;
                foreach (var (k, v) in dict) worst = Math.Max(worst, AssertSame(v, ad[k], $"{path}[{k}]", rtol, atol));
                return worst;
            }
            case Dictionary<string, object?> dict:
            {
                // An empty Python dict carries no key type: accept any empty dictionary.
                if (dict.Count == 0 && actual is IDictionary { Count: 0 }) return 0;
                var ad = Assert.IsType<Dictionary<string, object?>>(actual);
                Assert.True(dict.Keys.SequenceEqual(ad.Keys),
                    $"{path}: expected keys [{string.Join(", ", dict.Keys)}], got [{string.Join(", ", ad.Keys)}]");
                double worst = 0;
                foreach (var (k, v) in dict) worst = Math.Max(worst, AssertSame(v, ad[k], $"{path}['{k}']", rtol, atol));
                return worst;
            }
            default:
                throw new ArgumentException($"{path}: unexpected expected value {expected.GetType()}");
        }
    }

    private static string Describe(object? value) => value is null ? "None" : $"{value} ({value.GetType().Name})";
}
