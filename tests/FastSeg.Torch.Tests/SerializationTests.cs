using System.IO.Compression;
using System.Text;
using System.Text.Json;
using FastSeg.Torch.Interop;
using FastSeg.Torch.Serialization;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Tests;

/// <summary>
/// torch.save / torch.load against PyTorch's own file formats. Fixtures under Fixtures/serialization were written by
/// tools/make_serialization_fixtures.py with Python's torch.save; the [PythonTorchFact] tests also round-trip through
/// /usr/bin/python3 at test time.
/// </summary>
public sealed class SerializationTests : IDisposable
{
    private const string ExpectedFile = "serialization/expected.json";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastseg-serial-" + Guid.NewGuid().ToString("N"));
    private readonly DisposeScope _scope = NewDisposeScope();

    public SerializationTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        _scope.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string Temp(string name) => Path.Combine(_dir, name);

    private static string FixturePath(string name) => Fixture.PathOf(Path.Combine("serialization", name));

    private static unsafe long DataPtr(Tensor t)
    {
        Native.Check(NativeMethods.fs_tensor_data_ptr(t.NativeHandle, out var p, out _));
        return (long)p;
    }

    private static long StorageOffset(Tensor t) => (DataPtr(t) - (long)CheckpointWriter.StorageBase(t)) / t.element_size();

    private static void AssertTensorsMatchJson(JsonElement expected, IReadOnlyDictionary<string, Tensor> actual, string what)
    {
        var names = expected.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(names, actual.Keys.ToList());
        foreach (var p in expected.EnumerateObject())
        {
            using var e = Fixture.ToTensor(p.Value);
            var a = actual[p.Name];
            Assert.Equal(e.dtype, a.dtype);
            TensorAssert.Equal(e, a, $"{what}.{p.Name}");
        }
    }

    private static Dictionary<string, Tensor> Tensors(Dictionary<string, object?> d) =>
        d.ToDictionary(kv => kv.Key, kv => (Tensor)kv.Value!);

    // ---- Python-written fixtures ------------------------------------------------------------------------------------

    [Fact]
    public void LoadsAPythonStateDictInFileOrder()
    {
        var sd = load_state_dict(FixturePath("state_dict.pt"));
        AssertTensorsMatchJson(Fixture.Case(ExpectedFile, "state_dict"), sd, "state_dict");
        var tracked = sd["stem.1.num_batches_tracked"];
        Assert.Equal(ScalarType.Int64, tracked.dtype);
        Assert.Empty(tracked.shape);
        Assert.Equal(2L, tracked.item<long>());
        Assert.False(sd["stem.0.weight"].requires_grad);
    }

    [Fact]
    public void LoadsAPythonCheckpointWithNestedValuesAndAnOptimizerState()
    {
        var c = Assert.IsType<Dictionary<string, object?>>(load(FixturePath("checkpoint.pt")));
        Assert.Equal(new[]
        {
            "epoch", "step", "neg", "lr", "name", "unicode", "flags", "best", "milestones", "shape", "mixed", "int_keys",
            "other_keys", "nested", "model", "optimizer", "param",
        }, c.Keys);
        Assert.Equal(7L, c["epoch"]);
        Assert.Equal(123456789012L, c["step"]);
        Assert.Equal(-5L, c["neg"]);
        Assert.Equal(0.0125, c["lr"]);
        Assert.Equal("unet-small", c["name"]);
        Assert.Equal("h\u00e9llo \u2713", c["unicode"]);
        var flags = Assert.IsType<Dictionary<string, object?>>(c["flags"]);
        Assert.Equal(true, flags["amp"]);
        Assert.Equal(false, flags["ema"]);
        Assert.Null(c["best"]);
        Assert.Equal(new List<object?> { 30L, 60L, 90L }, Assert.IsType<List<object?>>(c["milestones"]));
        Assert.Equal(new object?[] { 3L, 4L }, Assert.IsType<object?[]>(c["shape"]));
        var mixed = Assert.IsType<List<object?>>(c["mixed"]);
        Assert.Equal(new object?[] { 1L, 2.5, "x", null, true }, mixed.Take(5));
        Assert.Equal(new object?[] { 1L, "a" }, Assert.IsType<object?[]>(mixed[5]));
        var intKeys = Assert.IsType<Dictionary<long, object?>>(c["int_keys"]);
        Assert.Equal(new[] { 1L, 2L }, intKeys.Keys);
        Assert.Equal("b", intKeys[2]);
        var otherKeys = Assert.IsType<Dictionary<object, object?>>(c["other_keys"]);
        Assert.Equal("int", otherKeys[1L]);
        Assert.Equal("str", otherKeys["two"]);
        Assert.Equal("tuple", otherKeys[new object?[] { 3L, 4L }]);
        var nested = Assert.IsType<Dictionary<string, object?>>(c["nested"]);
        var inner = (List<object?>)((Dictionary<string, object?>)((Dictionary<string, object?>)nested["a"]!)["b"]!)["c"]!;
        Assert.Equal(1L, inner[0]);
        Assert.Equal(3L, ((List<object?>)((List<object?>)inner[1]!)[1]!)[0]);

        var expected = Fixture.Case(ExpectedFile, "checkpoint");
        AssertTensorsMatchJson(expected.GetProperty("model"), Tensors(Assert.IsType<Dictionary<string, object?>>(c["model"])), "model");

        var optimizer = Assert.IsType<Dictionary<string, object?>>(c["optimizer"]);
        Assert.Equal(new[] { "state", "param_groups" }, optimizer.Keys);
        var state = Assert.IsType<Dictionary<long, object?>>(optimizer["state"]);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i), state.Keys);
        var momentum = state.ToDictionary(kv => kv.Key.ToString(System.Globalization.CultureInfo.InvariantCulture),
            kv => (Tensor)((Dictionary<string, object?>)kv.Value!)["momentum_buffer"]!);
        AssertTensorsMatchJson(expected.GetProperty("momentum"), momentum, "momentum");
        var group = Assert.IsType<Dictionary<string, object?>>(Assert.Single(Assert.IsType<List<object?>>(optimizer["param_groups"])));
        Assert.Equal(0.1, group["lr"]);
        Assert.Equal(0.9, group["momentum"]);
        Assert.Equal(0L, group["dampening"]);
        Assert.Equal(1e-4, group["weight_decay"]);
        Assert.Equal(false, group["nesterov"]);
        Assert.Null(group["foreach"]);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (object?)(long)i), Assert.IsType<List<object?>>(group["params"]));

        var param = Assert.IsType<nn.Parameter>(c["param"]);
        Assert.True(param.requires_grad);
        Assert.Equal(new[] { 1.5f, -2.0f }, param.ToArray<float>());
        param.Dispose();
    }

    [Fact]
    public void LoadsTheLegacyFormatWithASharedStorage()
    {
        var c = Assert.IsType<Dictionary<string, object?>>(load(FixturePath("legacy.pt")));
        Assert.Equal(new[] { "weight", "shared_a", "shared_b", "ints", "meta" }, c.Keys);
        var meta = Assert.IsType<Dictionary<string, object?>>(c["meta"]);
        Assert.Equal(3L, meta["epoch"]);
        Assert.Equal("legacy", meta["name"]);
        var tensors = c.Where(kv => kv.Value is Tensor).ToDictionary(kv => kv.Key, kv => (Tensor)kv.Value!);
        AssertTensorsMatchJson(Fixture.Case(ExpectedFile, "legacy"), tensors, "legacy");

        // shared_a = s[0:4] and shared_b = s[2:6] of one storage: writing through one shows in the other.
        var a = tensors["shared_a"];
        var b = tensors["shared_b"];
        Assert.Equal(DataPtr(a) + 2 * sizeof(double), DataPtr(b));
        a.add_(100);
        Assert.Equal(new double[] { 102, 103, 4, 5 }, b.ToArray<double>());
    }

    [Fact]
    public void LoadsEveryDtype()
    {
        var c = Assert.IsType<Dictionary<string, object?>>(load(FixturePath("dtypes.pt")));
        var tensors = Tensors(c);
        AssertTensorsMatchJson(Fixture.Case(ExpectedFile, "dtypes"), tensors, "dtypes");
        Assert.Equal(ScalarType.BFloat16, tensors["bfloat16"].dtype);
        Assert.Equal(new[] { 0L, -1L, 1L << 40, -(1L << 50), 1L << 62 }, tensors["int64"].ToArray<long>());
        Assert.Equal(new[] { 1.5f, -3f, 0.0078125f, MathF.Pow(2, 100) }, tensors["bfloat16"].to(ScalarType.Float32).ToArray<float>());
        Assert.Equal(new[] { true, false, true }, tensors["bool"].ToArray<bool>());
        Assert.Equal(new byte[] { 0, 1, 200, 255 }, tensors["uint8"].ToArray<byte>());
        Assert.Empty(tensors["scalar"].shape);
        Assert.Equal(new long[] { 0, 3 }, tensors["empty"].shape);
    }

    [Fact]
    public void LoadsNonContiguousViewsThatShareStorage()
    {
        var c = Assert.IsType<Dictionary<string, object?>>(load(FixturePath("views.pt")));
        var tensors = Tensors(c);
        AssertTensorsMatchJson(Fixture.Case(ExpectedFile, "views"), tensors, "views");

        var grid = tensors["base"];
        var transposed = tensors["transposed"];
        var slice = tensors["slice"];
        Assert.Equal(new long[] { 1, 4 }, transposed.stride());
        Assert.Equal(new long[] { 4, 2 }, slice.stride());
        Assert.Equal(4L, StorageOffset(slice));
        Assert.Equal(DataPtr(grid), DataPtr(transposed));
        Assert.Equal(DataPtr(grid) + 4 * sizeof(float), DataPtr(slice));

        var a = tensors["a"];
        var b = tensors["b"];
        var disjoint = tensors["c"];
        Assert.Equal(7L, StorageOffset(disjoint));
        Assert.Equal(DataPtr(a) + 7 * sizeof(double), DataPtr(disjoint));
        a.fill_(-1);
        Assert.Equal(new double[] { -1, -1, 4, 5 }, b.ToArray<double>());
        grid.mul_(2);
        Assert.Equal(new float[] { 4, 12, 20, 6, 14, 22 }, transposed.ToArray<float>().Skip(6).ToArray());
    }

    [Fact]
    public void LoadsPickleProtocol4()
    {
        var c = Assert.IsType<Dictionary<string, object?>>(load(FixturePath("protocol4.pt")));
        Assert.Equal(new[] { 0, 1, 2, 3 }, ((Tensor)c["x"]!).ToArray<int>());
        Assert.Equal(new List<object?> { "a", "b" }, c["names"]);
        Assert.Equal(3L, c["n"]);
        Assert.Equal(new object?[] { 1L, 2L }, c["t"]);
    }

    [Fact]
    public void LoadStateDictRefusesACheckpointAndSaysWhatItHolds()
    {
        var path = FixturePath("checkpoint.pt");
        var e = Assert.Throws<CheckpointFormatException>(() => load_state_dict(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'epoch' is an int", e.Message);

        var listFile = Temp("list.pt");
        save(new List<object?> { 1L, 2L }, listFile);
        var e2 = Assert.Throws<CheckpointFormatException>(() => load_state_dict(listFile));
        Assert.Contains("a list of 2", e2.Message);
    }

    // ---- C# round trips ---------------------------------------------------------------------------------------------

    private const string SampleKeys =
        "epoch int32 big huge neg lr f32 name ok none list tuple empty_list empty_tuple empty_dict int_keys mixed_keys " +
        "nested model dtypes grid grid_t grid_slice line_a line_b line_c expanded param requires_grad same_twice specials";

    /// <summary>A checkpoint with every kind of value; the Python check below mirrors it.</summary>
    private static Dictionary<string, object?> Sample()
    {
        var grid = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        var line = arange(10, dtype: ScalarType.Float64);
        var model = new Dictionary<string, Tensor>
        {
            ["enc.conv.weight"] = arange(18, dtype: ScalarType.Float32).reshape(2, 1, 3, 3).div(10),
            ["enc.conv.bias"] = tensor(new float[] { 0.5f, -0.5f }),
            ["enc.bn.num_batches_tracked"] = tensor(3L),
            ["head.weight"] = ones(new long[] { 2, 2 }, ScalarType.Float16),
        };
        return new Dictionary<string, object?>
        {
            ["epoch"] = 12L,
            ["int32"] = 5,
            ["big"] = 1L << 40,
            ["huge"] = System.Numerics.BigInteger.Pow(2, 70),
            ["neg"] = -70000L,
            ["lr"] = 0.5,
            ["f32"] = 0.25f,
            ["name"] = "fastseg \u2713",
            ["ok"] = true,
            ["none"] = null,
            ["list"] = new List<object?> { 1L, "two", 3.0, null, false },
            ["tuple"] = new object?[] { 1L, "a", new object?[] { 2L } },
            ["empty_list"] = new List<object?>(),
            ["empty_tuple"] = Array.Empty<object?>(),
            ["empty_dict"] = new Dictionary<string, object?>(),
            ["int_keys"] = new Dictionary<long, object?> { [3] = "three", [1] = "one" },
            ["mixed_keys"] = new Dictionary<object, object?> { [1L] = "int", ["s"] = "str", [new object?[] { 2L, 3L }] = "tuple" },
            ["nested"] = new Dictionary<string, object?> { ["a"] = new Dictionary<string, object?> { ["b"] = new List<object?> { 1L, new List<object?> { 2L } } } },
            ["model"] = model,
            ["dtypes"] = new Dictionary<string, object?>
            {
                ["float32"] = tensor(new float[] { 1.5f, -2f }),
                ["float64"] = tensor(new double[] { 1.0 / 3 }),
                ["float16"] = tensor(new[] { (Half)0.5f, (Half)(-4f) }),
                ["bfloat16"] = tensor(new float[] { 1.5f, 256f, -0.125f }).to(ScalarType.BFloat16),
                ["int64"] = tensor(new long[] { -1, 1L << 40, long.MaxValue }),
                ["int32"] = tensor(new int[] { int.MinValue, 7 }),
                ["uint8"] = tensor(new byte[] { 0, 255 }),
                ["bool"] = tensor(new[] { true, false }),
                ["empty"] = zeros(0, 3),
            },
            ["grid"] = grid,
            ["grid_t"] = grid.t(),
            ["grid_slice"] = grid.slice(0, 1, null).slice(1, 0, null, 2),
            ["line_a"] = line.narrow(0, 0, 4),
            ["line_b"] = line.narrow(0, 2, 4),
            ["line_c"] = line.narrow(0, 7, 2),
            ["expanded"] = tensor(new float[] { 1, 2, 3 }).expand(4, 3),
            ["param"] = new nn.Parameter(tensor(new float[] { 1, 2 })),
            ["requires_grad"] = ones(2).requires_grad_(),
            ["same_twice"] = new List<object?> { grid, grid },
            ["specials"] = new List<object?> { double.NaN, double.PositiveInfinity, -0.0 },
        };
    }

    private static void AssertSampleRoundTripped(Dictionary<string, object?> c)
    {
        Assert.Equal(SampleKeys.Split(' '), c.Keys);
        Assert.Equal(12L, c["epoch"]);
        Assert.Equal(5L, c["int32"]);
        Assert.Equal(1L << 40, c["big"]);
        Assert.Equal(System.Numerics.BigInteger.Pow(2, 70), c["huge"]);
        Assert.Equal(-70000L, c["neg"]);
        Assert.Equal(0.5, c["lr"]);
        Assert.Equal(0.25, c["f32"]);
        Assert.Equal("fastseg \u2713", c["name"]);
        Assert.Equal(true, c["ok"]);
        Assert.Null(c["none"]);
        Assert.Equal(new List<object?> { 1L, "two", 3.0, null, false }, c["list"]);
        var tuple = Assert.IsType<object?[]>(c["tuple"]);
        Assert.Equal(new object?[] { 2L }, tuple[2]);
        Assert.Empty(Assert.IsType<List<object?>>(c["empty_list"]));
        Assert.Empty(Assert.IsType<object?[]>(c["empty_tuple"]));
        Assert.Empty(Assert.IsType<Dictionary<string, object?>>(c["empty_dict"]));
        Assert.Equal(new[] { 3L, 1L }, Assert.IsType<Dictionary<long, object?>>(c["int_keys"]).Keys);
        var mixed = Assert.IsType<Dictionary<object, object?>>(c["mixed_keys"]);
        Assert.Equal("tuple", mixed[new object?[] { 2L, 3L }]);
        Assert.Equal("int", mixed[1L]);

        var model = Assert.IsType<Dictionary<string, object?>>(c["model"]);
        Assert.Equal(new[] { "enc.conv.weight", "enc.conv.bias", "enc.bn.num_batches_tracked", "head.weight" }, model.Keys);
        Assert.Equal(3L, ((Tensor)model["enc.bn.num_batches_tracked"]!).item<long>());
        Assert.Equal(ScalarType.Float16, ((Tensor)model["head.weight"]!).dtype);

        var dtypes = Tensors(Assert.IsType<Dictionary<string, object?>>(c["dtypes"]));
        Assert.Equal(new[] { 1.5f, -2f }, dtypes["float32"].ToArray<float>());
        Assert.Equal(new[] { 1.0 / 3 }, dtypes["float64"].ToArray<double>());
        Assert.Equal(new[] { (Half)0.5f, (Half)(-4f) }, dtypes["float16"].ToArray<Half>());
        Assert.Equal(ScalarType.BFloat16, dtypes["bfloat16"].dtype);
        Assert.Equal(new[] { 1.5f, 256f, -0.125f }, dtypes["bfloat16"].to(ScalarType.Float32).ToArray<float>());
        Assert.Equal(new[] { -1L, 1L << 40, long.MaxValue }, dtypes["int64"].ToArray<long>());
        Assert.Equal(new[] { int.MinValue, 7 }, dtypes["int32"].ToArray<int>());
        Assert.Equal(new byte[] { 0, 255 }, dtypes["uint8"].ToArray<byte>());
        Assert.Equal(new[] { true, false }, dtypes["bool"].ToArray<bool>());
        Assert.Equal(new long[] { 0, 3 }, dtypes["empty"].shape);

        var grid = (Tensor)c["grid"]!;
        var gridT = (Tensor)c["grid_t"]!;
        var slice = (Tensor)c["grid_slice"]!;
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i), grid.ToArray<float>());
        Assert.Equal(new long[] { 1, 4 }, gridT.stride());
        Assert.Equal(new float[] { 4, 6, 8, 10 }, slice.ToArray<float>());
        Assert.Equal(DataPtr(grid), DataPtr(gridT));
        var a = (Tensor)c["line_a"]!;
        var b = (Tensor)c["line_b"]!;
        var d = (Tensor)c["line_c"]!;
        Assert.Equal(DataPtr(a) + 7 * sizeof(double), DataPtr(d));
        a.add_(100);
        Assert.Equal(new double[] { 102, 103, 4, 5 }, b.ToArray<double>());
        Assert.Equal(new double[] { 7, 8 }, d.ToArray<double>());
        var expanded = (Tensor)c["expanded"]!;
        Assert.Equal(new long[] { 0, 1 }, expanded.stride());
        Assert.Equal(new float[] { 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3 }, expanded.ToArray<float>());

        var param = Assert.IsType<nn.Parameter>(c["param"]);
        Assert.True(param.requires_grad);
        param.Dispose();
        Assert.True(((Tensor)c["requires_grad"]!).requires_grad);
        var twice = Assert.IsType<List<object?>>(c["same_twice"]);
        Assert.Same(twice[0], twice[1]);
        Assert.Same(grid, twice[0]);
        var specials = Assert.IsType<List<object?>>(c["specials"]);
        Assert.True(double.IsNaN((double)specials[0]!));
        Assert.Equal(double.PositiveInfinity, specials[1]);
        Assert.True(double.IsNegative((double)specials[2]!));
    }

    [Fact]
    public void RoundTripsEveryKindOfValue()
    {
        var path = Temp("sample.pt");
        save(Sample(), path);
        AssertSampleRoundTripped(Assert.IsType<Dictionary<string, object?>>(load(path)));
        Assert.Equal(new[] { "sample.pt" }, Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    /// <summary>
    /// Temporaries left by interrupted saves of the same file are removed by the next save; one that another save
    /// still holds open, and temporaries of other files, are left alone.
    /// </summary>
    [Fact]
    public void ASaveRemovesTheTemporariesOfInterruptedSavesOfTheSameFile()
    {
        var path = Temp("weights.pth");
        var stale = Enumerable.Range(0, 3).Select(_ => Temp($".weights.pth.{Guid.NewGuid():N}.tmp")).ToList();
        foreach (var f in stale) File.WriteAllBytes(f, new byte[1000]);
        var otherFile = Temp($".other.pth.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(otherFile, new byte[10]);
        var busy = Temp($".weights.pth.{Guid.NewGuid():N}.tmp");
        using (var writing = new FileStream(busy, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            save(new Dictionary<string, Tensor> { ["w"] = ones(3) }, path);
            Assert.True(File.Exists(busy), "a temporary another save is writing was deleted");
        }
        Assert.All(stale, f => Assert.False(File.Exists(f), $"{f} was left behind"));
        Assert.True(File.Exists(otherFile));
        Assert.Equal(new[] { 1f, 1f, 1f }, Tensors(Assert.IsType<Dictionary<string, object?>>(load(path)))["w"].ToArray<float>());
    }

    [Fact]
    public void SavingIntoAMissingFolderNamesThePathAskedFor()
    {
        var path = Temp(Path.Combine("no-such-folder", "weights.pth"));
        var e = Assert.Throws<DirectoryNotFoundException>(() => save(new Dictionary<string, Tensor> { ["w"] = ones(3) }, path));
        Assert.Contains($"'{path}'", e.Message);
        Assert.DoesNotContain(".tmp", e.Message);
    }

    [Fact]
    public void WritesDataAlignedTo64BytesWithoutCompression()
    {
        var path = Temp("aligned.pt");
        save(new Dictionary<string, object?> { ["w"] = ones(7), ["name"] = "x" }, path);
        using var zip = ZipFile.OpenRead(path);
        Assert.Equal(new[] { "archive/data.pkl", "archive/data/0", "archive/version", "archive/byteorder" },
            zip.Entries.Select(e => e.FullName));
        Assert.All(zip.Entries, e => Assert.Equal(e.Length, e.CompressedLength));
        var bytes = File.ReadAllBytes(path);
        var ones28 = Enumerable.Repeat(new byte[] { 0, 0, 0x80, 0x3f }, 7).SelectMany(x => x).ToArray();
        int at = bytes.AsSpan().IndexOf(ones28);
        Assert.True(at > 0 && at % 64 == 0, $"tensor data starts at byte {at}");
    }

    [Fact]
    public void RoundTripsThroughForcedZip64Records()
    {
        var path = Temp("zip64.pt");
        CheckpointWriter.Save(Sample(), path, forceZip64: true);
        AssertSampleRoundTripped(Assert.IsType<Dictionary<string, object?>>(load(path)));
    }

    // ---- through Python ---------------------------------------------------------------------------------------------

    private const string CheckSampleInPython = """
        import collections, math, sys, torch
        path = sys.argv[1]
        # weights_only=True is checked on the state dict alone: PyTorch 1.13's weights-only unpickler cannot read
        # Python floats at all (BINFLOAT), not even in files that Python itself wrote.
        for weights_only in (False,):
            c = torch.load(path, weights_only=weights_only)
            assert type(c) is dict, type(c)
            assert list(c) == sys.argv[2].split(' '), list(c)
            assert c['epoch'] == 12 and type(c['epoch']) is int
            assert c['int32'] == 5 and c['big'] == 2 ** 40 and c['huge'] == 2 ** 70 and c['neg'] == -70000
            assert c['lr'] == 0.5 and type(c['lr']) is float and c['f32'] == 0.25
            assert c['name'] == 'fastseg \u2713'
            assert c['ok'] is True and c['none'] is None
            assert c['list'] == [1, 'two', 3.0, None, False] and type(c['list']) is list
            assert c['tuple'] == (1, 'a', (2,)) and type(c['tuple']) is tuple
            assert c['empty_list'] == [] and c['empty_tuple'] == () and c['empty_dict'] == {}
            assert list(c['int_keys'].items()) == [(3, 'three'), (1, 'one')]
            assert c['mixed_keys'] == {1: 'int', 's': 'str', (2, 3): 'tuple'}
            assert c['nested'] == {'a': {'b': [1, [2]]}}
            m = c['model']
            assert type(m) is collections.OrderedDict, type(m)
            assert list(m) == ['enc.conv.weight', 'enc.conv.bias', 'enc.bn.num_batches_tracked', 'head.weight']
            assert torch.equal(m['enc.conv.weight'], torch.arange(18, dtype=torch.float32).reshape(2, 1, 3, 3) / 10)
            assert m['enc.bn.num_batches_tracked'].dim() == 0 and m['enc.bn.num_batches_tracked'].item() == 3
            assert m['head.weight'].dtype == torch.float16 and torch.equal(m['head.weight'], torch.ones(2, 2, dtype=torch.float16))
            d = c['dtypes']
            assert torch.equal(d['float32'], torch.tensor([1.5, -2.0]))
            assert d['float64'].dtype == torch.float64 and d['float64'].item() == 1.0 / 3
            assert torch.equal(d['float16'], torch.tensor([0.5, -4.0], dtype=torch.float16))
            assert torch.equal(d['bfloat16'], torch.tensor([1.5, 256.0, -0.125], dtype=torch.bfloat16))
            assert torch.equal(d['int64'], torch.tensor([-1, 2 ** 40, 2 ** 63 - 1]))
            assert torch.equal(d['int32'], torch.tensor([-2 ** 31, 7], dtype=torch.int32))
            assert torch.equal(d['uint8'], torch.tensor([0, 255], dtype=torch.uint8))
            assert torch.equal(d['bool'], torch.tensor([True, False]))
            assert d['empty'].shape == (0, 3)
            grid = torch.arange(12, dtype=torch.float32).reshape(3, 4)
            assert torch.equal(c['grid'], grid)
            assert torch.equal(c['grid_t'], grid.t()) and c['grid_t'].stride() == (1, 4)
            assert torch.equal(c['grid_slice'], grid[1:, ::2])
            assert c['grid_t'].storage().data_ptr() == c['grid'].storage().data_ptr()
            a, b, cc = c['line_a'], c['line_b'], c['line_c']
            assert a.storage().data_ptr() == b.storage().data_ptr() == cc.storage().data_ptr()
            assert cc.storage_offset() - a.storage_offset() == 7
            a.add_(100)
            assert b.tolist() == [102.0, 103.0, 4.0, 5.0], b
            e = c['expanded']
            assert e.stride() == (0, 1) and torch.equal(e, torch.tensor([1.0, 2.0, 3.0]).expand(4, 3))
            assert len(e.storage()) == 3
            assert type(c['param']) is torch.nn.Parameter and c['param'].requires_grad
            assert c['requires_grad'].requires_grad and type(c['requires_grad']) is torch.Tensor
            assert c['same_twice'][0] is c['same_twice'][1] is c['grid']
            s = c['specials']
            assert math.isnan(s[0]) and s[1] == math.inf and math.copysign(1, s[2]) == -1
        m = torch.load(sys.argv[3], weights_only=True)
        assert type(m) is collections.OrderedDict and list(m) == list(c['model']), m
        assert all(torch.equal(m[k], c['model'][k]) for k in m)
        print('OK')
        """;

    [PythonTorchFact]
    public void PythonLoadsWhatCSharpSaves()
    {
        var path = Temp("from-csharp.pt");
        var sample = Sample();
        save(sample, path);
        var model = Temp("model.pt");
        save(sample["model"], model);
        Assert.Contains("OK", PythonTorch.RunChecked(CheckSampleInPython, path, SampleKeys, model));
    }

    [PythonTorchFact]
    public void PythonLoadsZip64RecordsThatCSharpWrites()
    {
        var path = Temp("zip64.pt");
        var sample = Sample();
        CheckpointWriter.Save(sample, path, forceZip64: true);
        var model = Temp("model.pt");
        CheckpointWriter.Save(sample["model"], model, forceZip64: true);
        Assert.Contains("OK", PythonTorch.RunChecked(CheckSampleInPython, path, SampleKeys, model));
    }

    [PythonTorchFact]
    public void CSharpLoadsWhatPythonSavesInEveryFormat()
    {
        const string script = """
            import json, sys, torch
            folder = sys.argv[1]
            torch.manual_seed(3)
            base = torch.randn(4, 5)
            ck = {
                'w': base, 'wt': base.t(), 'slice': base[1:3, ::2],
                'half': base.half(), 'bf16': base.bfloat16(), 'f64': base.double(),
                'i64': torch.randint(-2 ** 40, 2 ** 40, (3,)), 'i32': torch.randint(-100, 100, (2, 2), dtype=torch.int32),
                'u8': torch.randint(0, 256, (4,), dtype=torch.uint8), 'b': base > 0,
                'meta': {'epoch': 5, 'lr': 0.001, 'tag': 'run-1', 'ok': True, 'none': None, 'list': [1, 2.5, 'x'],
                         'tuple': (1, 2), 'big': 2 ** 40},
            }
            variants = [('zip2', True, 2), ('zip4', True, 4), ('zip1', True, 1), ('legacy2', False, 2), ('legacy1', False, 1)]
            for name, zipped, protocol in variants:
                torch.save(ck, f'{folder}/{name}.pt', _use_new_zipfile_serialization=zipped, pickle_protocol=protocol)
            names = {torch.float32: 'float32', torch.float64: 'float64', torch.float16: 'float16',
                     torch.bfloat16: 'bfloat16', torch.int64: 'int64', torch.int32: 'int32', torch.uint8: 'uint8',
                     torch.bool: 'bool'}
            def enc(t):
                data = t.double() if t.is_floating_point() else t
                return {'shape': list(t.shape), 'dtype': names[t.dtype], 'data': data.flatten().tolist()}
            print(json.dumps({k: enc(v) for k, v in ck.items() if isinstance(v, torch.Tensor)}))
            print('variants', ' '.join(v[0] for v in variants))
            """;
        var output = PythonTorch.RunChecked(script, _dir);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var expected = JsonDocument.Parse(lines[0]);
        var variants = lines[1].Split(' ').Skip(1).ToArray();
        Assert.Equal(5, variants.Length);
        foreach (var variant in variants)
        {
            var c = Assert.IsType<Dictionary<string, object?>>(load(Temp(variant + ".pt")));
            var tensors = c.Where(kv => kv.Value is Tensor).ToDictionary(kv => kv.Key, kv => (Tensor)kv.Value!);
            AssertTensorsMatchJson(expected.RootElement, tensors, variant);
            var meta = Assert.IsType<Dictionary<string, object?>>(c["meta"]);
            Assert.Equal(5L, meta["epoch"]);
            Assert.Equal(0.001, meta["lr"]);
            Assert.Equal("run-1", meta["tag"]);
            Assert.Equal(true, meta["ok"]);
            Assert.Null(meta["none"]);
            Assert.Equal(new List<object?> { 1L, 2.5, "x" }, meta["list"]);
            Assert.Equal(new object?[] { 1L, 2L }, meta["tuple"]);
            Assert.Equal(1L << 40, meta["big"]);
            Assert.Equal(DataPtr(tensors["w"]), DataPtr(tensors["wt"]));
            Assert.Equal(DataPtr(tensors["w"]) + 5 * sizeof(float), DataPtr(tensors["slice"]));
        }
    }

    // ---- safety -----------------------------------------------------------------------------------------------------

    private static byte[] Utf8String(string s)
    {
        var text = Encoding.UTF8.GetBytes(s);
        return new[] { (byte)'X' }.Concat(BitConverter.GetBytes(text.Length)).Concat(text).ToArray();
    }

    /// <summary>A pickle that, if executed, would run <c>touch marker</c> through <paramref name="module"/>.<paramref name="name"/>.</summary>
    private static byte[] MaliciousPickle(string module, string name, string marker)
    {
        var ms = new MemoryStream();
        ms.Write(new byte[] { 0x80, 2 });
        ms.Write(Encoding.ASCII.GetBytes($"c{module}\n{name}\n"));
        ms.Write(Utf8String($"touch {marker}"));
        ms.Write(new byte[] { 0x85, (byte)'R', (byte)'.' });
        return ms.ToArray();
    }

    private static void WriteZipCheckpoint(string path, byte[] pickle)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using (var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open()) s.Write(pickle);
        using (var s = zip.CreateEntry("archive/version", CompressionLevel.NoCompression).Open()) s.Write("3\n"u8);
    }

    [Fact]
    public void RefusesGlobalsOutsideTheSafeListWithoutRunningThem()
    {
        var marker = Temp("pwned");
        var cases = new List<(string File, byte[] Bytes, string Global)>
        {
            ("system.pkl", MaliciousPickle("posix", "system", marker), "posix.system"),
            ("os.pt", MaliciousPickle("os", "system", marker), "os.system"),
        };

        // builtins.eval through STACK_GLOBAL (protocol 4), inside a zip checkpoint.
        var ms = new MemoryStream();
        ms.Write(new byte[] { 0x80, 4, 0x8c, 8 });
        ms.Write("builtins"u8);
        ms.Write(new byte[] { 0x8c, 4 });
        ms.Write("eval"u8);
        ms.WriteByte(0x93);
        ms.Write(Utf8String($"__import__('os').system('touch {marker}')"));
        ms.Write(new byte[] { 0x85, (byte)'R', (byte)'.' });
        var zipped = Temp("eval.pt");
        WriteZipCheckpoint(zipped, ms.ToArray());
        cases.Add(("eval.pt", File.ReadAllBytes(zipped), "builtins.eval"));

        // INST names the callable inline; hidden inside an otherwise harmless dict.
        var inst = new MemoryStream();
        inst.Write(new byte[] { 0x80, 2, (byte)'}', (byte)'(' });
        inst.Write(Utf8String("state_dict"));
        inst.WriteByte((byte)'(');
        inst.Write(Utf8String($"touch {marker}"));
        inst.Write(Encoding.ASCII.GetBytes("iposix\nsystem\n"));
        inst.Write(new byte[] { (byte)'u', (byte)'.' });
        var instZip = Temp("inst.pt");
        WriteZipCheckpoint(instZip, inst.ToArray());
        cases.Add(("inst.pt", File.ReadAllBytes(instZip), "posix.system"));

        foreach (var (file, bytes, global) in cases)
        {
            var path = Temp(file);
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<UnsafeCheckpointException>(() => load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains($"'{global}'", e.Message);
            Assert.Equal(global, e.GlobalModule + "." + e.GlobalName);
            Assert.False(File.Exists(marker), $"{file}: the marker file exists");
        }
    }

    [PythonTorchFact]
    public void TheRefusedPickleReallyIsMalicious()
    {
        var marker = Temp("pwned");
        var path = Temp("system.pkl");
        File.WriteAllBytes(path, MaliciousPickle("posix", "system", marker));
        Assert.Throws<UnsafeCheckpointException>(() => load(path));
        Assert.False(File.Exists(marker));
        // Python's own pickle module does run it, so the refusal above is what protects us.
        PythonTorch.RunChecked("import pickle, sys; pickle.load(open(sys.argv[1], 'rb'))", path);
        Assert.True(File.Exists(marker));
    }

    [Fact]
    public void TruncatedFilesGiveAnExceptionNamingTheFile()
    {
        foreach (var fixture in new[] { "checkpoint.pt", "legacy.pt", "dtypes.pt" })
        {
            var bytes = File.ReadAllBytes(FixturePath(fixture));
            foreach (var length in new[] { 1, 10, 64, bytes.Length / 3, bytes.Length / 2, bytes.Length - 30, bytes.Length - 1 })
            {
                var path = Temp($"cut-{length}-{fixture}");
                File.WriteAllBytes(path, bytes[..length]);
                var e = Assert.ThrowsAny<CheckpointFormatException>(() => load(path));
                Assert.StartsWith(path + ": ", e.Message);
                Assert.Equal(path, e.FilePath);
            }
        }
    }

    [Fact]
    public void GarbageAndCorruptFilesGiveAnExceptionNamingTheFile()
    {
        var random = new Random(5);
        var noise = new byte[3000];
        random.NextBytes(noise);
        noise[0] = 0x13;
        var pkNoise = (byte[])noise.Clone();
        "PK\u0003\u0004"u8.CopyTo(pkNoise);
        var pickleNoise = (byte[])noise.Clone();
        pickleNoise[0] = 0x80;
        pickleNoise[1] = 2;
        var cases = new Dictionary<string, byte[]>
        {
            ["empty.pt"] = Array.Empty<byte>(),
            ["noise.pt"] = noise,
            ["pk-noise.pt"] = pkNoise,
            ["pickle-noise.pt"] = pickleNoise,
            ["text.pt"] = "this is not a checkpoint\n"u8.ToArray(),
            // A valid pickle, but not a torch checkpoint (no magic number): {'a': 1}
            ["plain.pkl"] = new byte[] { 0x80, 2, (byte)'}', (byte)'X', 1, 0, 0, 0, (byte)'a', (byte)'K', 1, (byte)'s', (byte)'.' },
        };
        foreach (var (name, bytes) in cases)
        {
            var path = Temp(name);
            File.WriteAllBytes(path, bytes);
            var e = Assert.ThrowsAny<CheckpointFormatException>(() => load(path));
            Assert.StartsWith(path + ": ", e.Message);
        }

        // A flipped byte in a tensor's data fails the record's CRC.
        var good = Temp("good.pt");
        save(new Dictionary<string, object?> { ["w"] = full(new long[] { 256 }, 0xAB, ScalarType.Byte) }, good);
        var data = File.ReadAllBytes(good);
        int at = data.AsSpan().IndexOf(Enumerable.Repeat((byte)0xAB, 256).ToArray());
        Assert.True(at > 0);
        data[at + 100] ^= 0x01;
        var corrupt = Temp("corrupt.pt");
        File.WriteAllBytes(corrupt, data);
        var crc = Assert.ThrowsAny<CheckpointFormatException>(() => load(corrupt));
        Assert.Contains("CRC", crc.Message);
        Assert.StartsWith(corrupt, crc.Message);
    }

    [Fact]
    public void RandomCorruptionEitherLoadsOrGivesTheFileNamingException()
    {
        // Flipped bytes in tensor data of the legacy format (which has no checksum) still load; anything else must be
        // refused with CheckpointFormatException, never another exception type, a crash or a huge allocation.
        var random = new Random(11);
        int refused = 0, loaded = 0;
        foreach (var fixture in new[] { "checkpoint.pt", "legacy.pt", "views.pt", "protocol4.pt" })
        {
            var original = File.ReadAllBytes(FixturePath(fixture));
            for (int trial = 0; trial < 150; trial++)
            {
                var bytes = (byte[])original.Clone();
                int flips = 1 + random.Next(3);
                for (int k = 0; k < flips; k++) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                var path = Temp($"fuzz-{trial}-{fixture}");
                File.WriteAllBytes(path, bytes);
                try
                {
                    using (NewDisposeScope()) load(path);
                    loaded++;
                }
                catch (CheckpointFormatException e)
                {
                    Assert.StartsWith(path + ": ", e.Message);
                    refused++;
                }
                File.Delete(path);
            }
        }
        Assert.True(refused > 300, $"{refused} refused, {loaded} loaded");
    }

    [Fact]
    public void Crc32MatchesTheReferenceOnEveryPath()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
        var random = new Random(7);
        var data = new byte[1 << 20];
        random.NextBytes(data);
        foreach (var length in Enumerable.Range(0, 300).Concat(new[] { 1000, 4095, 4096, 65537, data.Length }))
        {
            var span = data.AsSpan(random.Next(0, 16), Math.Min(length, data.Length - 16));
            uint reference = Crc32.Finish(Crc32.UpdateTables(Crc32.Start, span));
            Assert.Equal(reference, Crc32.Compute(span));
            int split = span.Length / 3;
            Assert.Equal(reference, Crc32.Finish(Crc32.Update(Crc32.Update(Crc32.Start, span[..split]), span[split..])));
        }
    }

    // ---- atomic writes ----------------------------------------------------------------------------------------------

    [Fact]
    public void AFailedSaveLeavesThePreviousFileAndNoTemporaryFiles()
    {
        var path = Temp("model.pt");
        save(new Dictionary<string, object?> { ["w"] = ones(3), ["epoch"] = 1L }, path);
        var before = File.ReadAllBytes(path);

        var e = Assert.Throws<ArgumentException>(() =>
            save(new Dictionary<string, object?> { ["w"] = zeros(3), ["bad"] = new List<object?> { 1L, new object() } }, path));
        Assert.Contains("obj[\"bad\"][1]", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(new[] { "model.pt" }, Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));

        var disposed = ones(2);
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => save(new List<object?> { disposed }, path));
        Assert.Equal(before, File.ReadAllBytes(path));

        // A failure after the data was written (the target is a folder, so the final rename fails) removes the
        // temporary file too.
        var folder = Temp("a-folder");
        Directory.CreateDirectory(folder);
        Assert.ThrowsAny<IOException>(() => save(new Dictionary<string, object?> { ["w"] = ones(3) }, folder));
        Assert.True(Directory.Exists(folder));
        Assert.Empty(Directory.GetFileSystemEntries(folder));
        Assert.Equal(new[] { "a-folder", "model.pt" }, Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order());

        // A successful save replaces the file.
        save(new Dictionary<string, object?> { ["epoch"] = 2L }, path);
        Assert.Equal(2L, ((Dictionary<string, object?>)load(path)!)["epoch"]);
        Assert.Equal(new[] { "a-folder", "model.pt" }, Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order());
    }
}
