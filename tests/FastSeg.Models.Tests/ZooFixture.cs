using System.Text.Json;
using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests;

/// <summary>One fixture written by tools/make_zoo_fixtures.py from the reference implementation.</summary>
public sealed class ZooFixture
{
    private ZooFixture(string id, JsonElement root)
    {
        Id = id;
        Root = root;
    }

    public string Id { get; }

    public JsonElement Root { get; }

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Fixtures", "zoo");

    public static IEnumerable<object[]> All() =>
        System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.GetFiles(Directory, "*.json").Select(Path.GetFileNameWithoutExtension).Order().Select(id => new object[] { id! })
            : Array.Empty<object[]>();

    public static ZooFixture Load(string id) =>
        new(id, JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, id + ".json"))).RootElement.Clone());

    public string Model => Root.GetProperty("model").GetString()!;

    /// <summary>Builds the network as the fixture's "csharp" section says.</summary>
    public SegmentationModel Build()
    {
        var cs = Root.GetProperty("csharp");
        string? encoder = cs.TryGetProperty("encoder", out var e) ? e.GetString() : null;
        bool aux = cs.TryGetProperty("aux", out var a) && a.GetBoolean();
        bool detail = cs.TryGetProperty("detail", out var d) && d.GetBoolean();
        var options = new Dictionary<string, string>();
        if (cs.TryGetProperty("options", out var o))
            foreach (var p in o.EnumerateObject()) options[p.Name] = p.Value.GetString()!;
        int classes = Root.TryGetProperty("classes", out var c) ? c.GetInt32() : Root.GetProperty("ctor").GetProperty("num_class").GetInt32();
        string name = cs.TryGetProperty("name", out var n) ? n.GetString()! : Model;
        return ModelZoo.Create(name, encoder, classes, aux, detail, options);
    }

    public long[] InputShape => Root.GetProperty("input").EnumerateArray().Select(x => x.GetInt64()).ToArray();

    /// <summary>Whether the fixture was made in float64.</summary>
    public bool IsFloat64 => Root.TryGetProperty("dtype", out var d) && d.GetString() == "float64";

    /// <summary>The comparison limit: 1e-4 for float32 fixtures, 1e-5 for float64 ones.</summary>
    public double Tolerance => IsFloat64 ? 1e-5 : 1e-4;

    /// <summary>The network with the deterministic weights, in the fixture's dtype.</summary>
    public SegmentationModel BuildFilled()
    {
        var model = Build();
        if (IsFloat64) model.to(ScalarType.Float64);
        DeterministicFill.Apply(model);
        return model;
    }

    /// <summary>The deterministic input, in the fixture's dtype.</summary>
    public Tensor Input()
    {
        var x = DeterministicFill.Input(InputShape);
        if (!IsFloat64) return x;
        using (x) return x.to(ScalarType.Float64);
    }

    /// <summary>Asserts shape, statistics and the sampled values of <paramref name="actual"/> against a stored summary.</summary>
    public static void AssertMatches(JsonElement summary, Tensor actual, string what, double tolerance = 1e-4)
    {
        var shape = summary.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        Assert.Equal(shape, actual.shape);
        using var flat = actual.detach().to(ScalarType.Float64).flatten();
        var values = flat.ToArray<double>();
        var index = summary.GetProperty("index").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        var expected = summary.GetProperty("values").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        double diff = 0, norm = 0;
        for (int k = 0; k < index.Length; k++)
        {
            double delta = values[index[k]] - expected[k];
            diff += delta * delta;
            norm += expected[k] * expected[k];
        }
        double rel = Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-12);
        Assert.True(rel < tolerance, $"{what}: sampled values differ from the reference by {rel:E2} (relative), limit {tolerance:E0}");
        double mean = values.Average();
        double std = Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Average());
        double refMean = summary.GetProperty("mean").GetDouble();
        double refStd = summary.GetProperty("std").GetDouble();
        Assert.True(Math.Abs(mean - refMean) <= tolerance * Math.Max(refStd, 1e-6) * 10,
            $"{what}: mean {mean:R} vs reference {refMean:R}");
        Assert.True(Math.Abs(std - refStd) <= tolerance * Math.Max(refStd, 1e-6) * 10,
            $"{what}: std {std:R} vs reference {refStd:R}");
    }
}
