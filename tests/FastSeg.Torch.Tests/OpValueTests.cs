using System.Text.Json;
using FastSeg.Torch;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Tests;

/// <summary>
/// Value tests of the engine's operators against PyTorch 1.13. Each test replays one case of
/// <c>Fixtures/engine_ops.json</c> (written by <c>tools/make_engine_fixtures.py</c>) through the C# API and checks
/// dtype, shape and values of every stored result. This file holds the helpers and the indexing and shape cases;
/// OpValueTests.Math.cs and OpValueTests.NN.cs hold the rest.
/// </summary>
public partial class OpValueTests
{
    private const string FixtureFile = "engine_ops.json";

    private static JsonElement Case(string name) => Fixture.Case(FixtureFile, name);

    private static long L(JsonElement c, string key) => c.GetProperty(key).GetInt64();

    private static double D(JsonElement c, string key) => c.GetProperty(key).GetDouble();

    private static long[] Ls(JsonElement c, string key) => c.GetProperty(key).EnumerateArray().Select(x => x.GetInt64()).ToArray();

    private static bool IsFloating(ScalarType t) =>
        t is ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16;

    /// <summary>
    /// Checks <paramref name="actual"/> against the tensor stored under <paramref name="key"/>: same dtype, same shape,
    /// and values within rtol/atol for floating types (float32 defaults) or identical for integers and bools.
    /// </summary>
    private static void Expect(JsonElement c, string key, Tensor actual, double rtol = 1e-5, double atol = 1e-6)
    {
        using var expected = c.Tensor(key);
        Assert.True(expected.dtype == actual.dtype, $"{key}: dtype is {actual.dtype}, expected {expected.dtype}");
        if (IsFloating(expected.dtype)) TensorAssert.Close(expected, actual, rtol, atol, key);
        else TensorAssert.Equal(expected, actual, key);
    }

    /// <summary>Checks a list of results (split, chunk, unbind) against the list stored under <paramref name="key"/>.</summary>
    private static void ExpectList(JsonElement c, string key, Tensor[] actual)
    {
        var expected = c.GetProperty(key).EnumerateArray().ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (int k = 0; k < expected.Length; k++)
        {
            using var e = Fixture.ToTensor(expected[k]);
            Assert.Equal(e.dtype, actual[k].dtype);
            TensorAssert.Close(e, actual[k], what: $"{key}[{k}]");
        }
    }

    // ---- indexing and slicing ------------------------------------------------------------------------------------

    [Theory]
    [InlineData("narrow")]
    [InlineData("narrow_negative_dim")]
    public void Narrow(string name)
    {
        using var scope = NewDisposeScope();
        var c = Case(name);
        var x = c.Tensor("x");
        Expect(c, "out", x.narrow(L(c, "dim"), L(c, "start"), L(c, "length")));
    }

    [Fact]
    public void SliceWithStep()
    {
        using var scope = NewDisposeScope();
        var c = Case("slice_step");
        Expect(c, "out", c.Tensor("x").slice(L(c, "dim"), L(c, "start"), L(c, "end"), L(c, "step")));
        c = Case("slice_open_step");
        Expect(c, "out", c.Tensor("x").slice(L(c, "dim"), null, null, L(c, "step")));
        c = Case("slice_negative_start");
        Expect(c, "out", c.Tensor("x").slice(L(c, "dim"), L(c, "start"), L(c, "end"), L(c, "step")));
    }

    [Fact]
    public void SelectAndIntegerIndexer()
    {
        using var scope = NewDisposeScope();
        var c = Case("select");
        Expect(c, "out", c.Tensor("x").select(L(c, "dim"), L(c, "index")));
        c = Case("select_negative");
        Expect(c, "out", c.Tensor("x").select(L(c, "dim"), L(c, "index")));
        c = Case("indexer_ints");
        Expect(c, "out", c.Tensor("x")[L(c, "i"), L(c, "j")]);
        c = Case("indexer_set");
        var y = c.Tensor("x");
        y[1, 3] = c.Tensor("row");
        Expect(c, "set_row", y);
        y = c.Tensor("x");
        y[-1] = tensor(0.5f);
        Expect(c, "set_plane", y);
    }

    [Theory]
    [InlineData("index_select_dim0")]
    [InlineData("index_select_dim1")]
    public void IndexSelect(string name)
    {
        using var scope = NewDisposeScope();
        var c = Case(name);
        Expect(c, "out", c.Tensor("x").index_select(L(c, "dim"), c.Tensor("index")));
    }

    [Fact]
    public void BooleanMaskIndexingAndMaskedSelect()
    {
        using var scope = NewDisposeScope();
        var c = Case("bool_mask_index");
        var mask = c.Tensor("mask");
        Assert.Equal(ScalarType.Bool, mask.dtype);
        Expect(c, "out", c.Tensor("x")[mask]);
        c = Case("masked_select");
        Expect(c, "out", c.Tensor("x").masked_select(c.Tensor("mask")));
        c = Case("masked_select_broadcast");
        Expect(c, "out", c.Tensor("x").masked_select(c.Tensor("mask")));
    }

    [Fact]
    public void MaskedFill()
    {
        using var scope = NewDisposeScope();
        var c = Case("masked_fill");
        Expect(c, "out", c.Tensor("x").masked_fill(c.Tensor("mask"), D(c, "value")));
        c = Case("masked_fill_broadcast");
        Expect(c, "out", c.Tensor("x").masked_fill(c.Tensor("mask"), L(c, "value")));
        c = Case("masked_fill_int64");
        Expect(c, "out", c.Tensor("x").masked_fill(c.Tensor("mask"), L(c, "value")));
    }

    [Fact]
    public void IndexWithInt64Tensors()
    {
        using var scope = NewDisposeScope();
        var c = Case("index_int64_tensor");
        var index = c.Tensor("index");
        Assert.Equal(ScalarType.Int64, index.dtype);
        Expect(c, "out", c.Tensor("x")[index]);
        c = Case("index_two_tensors");
        Expect(c, "out", c.Tensor("x").index(c.Tensor("rows"), c.Tensor("cols")));
        c = Case("index_skip_first_dim");
        Expect(c, "out", c.Tensor("x").index(new Tensor?[] { null, c.Tensor("cols") }));
    }

    [Fact]
    public void IndexPut()
    {
        using var scope = NewDisposeScope();
        var c = Case("index_put_bool_mask");
        var y = c.Tensor("x").clone();
        y[c.Tensor("mask")] = c.Tensor("value");
        Expect(c, "out", y);
        c = Case("index_put_accumulate");
        y = c.Tensor("x").clone();
        var returned = y.index_put_(new Tensor?[] { c.Tensor("index") }, c.Tensor("values"), accumulate: true);
        Assert.Same(y, returned);
        Expect(c, "out", y);
    }

    [Theory]
    [InlineData("gather_dim1")]
    [InlineData("gather_dim0")]
    public void Gather(string name)
    {
        using var scope = NewDisposeScope();
        var c = Case(name);
        Expect(c, "out", c.Tensor("x").gather(L(c, "dim"), c.Tensor("index")));
    }

    [Fact]
    public void Nonzero()
    {
        using var scope = NewDisposeScope();
        var c = Case("nonzero");
        Expect(c, "out", c.Tensor("x").nonzero());
    }

    // ---- views and shapes ----------------------------------------------------------------------------------------

    [Fact]
    public void ViewReshapePermuteTranspose()
    {
        using var scope = NewDisposeScope();
        var c = Case("view");
        Expect(c, "out", c.Tensor("x").view(Ls(c, "shape")));
        c = Case("reshape_noncontiguous");
        var transposed = c.Tensor("x").transpose(0, 2);
        Assert.False(transposed.is_contiguous());
        Expect(c, "out", transposed.reshape(Ls(c, "shape")));
        c = Case("permute");
        Expect(c, "out", c.Tensor("x").permute(Ls(c, "dims")));
        c = Case("transpose");
        Expect(c, "out", c.Tensor("x").transpose(L(c, "dim0"), L(c, "dim1")));
        c = Case("t");
        Expect(c, "out", c.Tensor("x").t());
    }

    [Fact]
    public void ViewsShareStorageWithTheirSource()
    {
        using var scope = NewDisposeScope();
        var c = Case("view");
        var x = c.Tensor("x");
        var v = x.view(Ls(c, "shape"));
        v.fill_(3);
        Assert.All(x.ToArray<float>(), e => Assert.Equal(3f, e));
    }

    [Fact]
    public void SqueezeAndUnsqueeze()
    {
        using var scope = NewDisposeScope();
        var c = Case("squeeze_all");
        Expect(c, "out", c.Tensor("x").squeeze());
        c = Case("squeeze_dim");
        Expect(c, "out", c.Tensor("x").squeeze(L(c, "dim")));
        c = Case("squeeze_dim_not_one");
        Expect(c, "out", c.Tensor("x").squeeze(L(c, "dim")));
        c = Case("unsqueeze_last");
        Expect(c, "out", c.Tensor("x").unsqueeze(L(c, "dim")));
        c = Case("unsqueeze_middle");
        Expect(c, "out", c.Tensor("x").unsqueeze(L(c, "dim")));
    }

    [Fact]
    public void ExpandAndExpandAs()
    {
        using var scope = NewDisposeScope();
        var c = Case("expand");
        Expect(c, "out", c.Tensor("x").expand(Ls(c, "sizes")));
        c = Case("expand_keep");
        Expect(c, "out", c.Tensor("x").expand(Ls(c, "sizes")));
        c = Case("expand_as");
        Expect(c, "out", c.Tensor("x").expand_as(c.Tensor("other")));
    }

    [Theory]
    [InlineData("flatten_from1")]
    [InlineData("flatten_0_1")]
    [InlineData("flatten_all")]
    public void Flatten(string name)
    {
        using var scope = NewDisposeScope();
        var c = Case(name);
        Expect(c, "out", c.Tensor("x").flatten(L(c, "start"), L(c, "end")));
    }

    [Fact]
    public void RepeatAndFlip()
    {
        using var scope = NewDisposeScope();
        var c = Case("repeat");
        Expect(c, "out", c.Tensor("x").repeat(Ls(c, "repeats")));
        c = Case("flip");
        Expect(c, "out", c.Tensor("x").flip(Ls(c, "dims")));
    }

    [Fact]
    public void CatAndStack()
    {
        using var scope = NewDisposeScope();
        var c = Case("cat_dim0");
        Expect(c, "out", cat(new[] { c.Tensor("a"), c.Tensor("b"), c.Tensor("c") }, L(c, "dim")));
        c = Case("cat_dim_last");
        Expect(c, "out", cat(new[] { c.Tensor("a"), c.Tensor("b") }, L(c, "dim")));
        c = Case("stack_dim1");
        Expect(c, "out", stack(new[] { c.Tensor("a"), c.Tensor("b"), c.Tensor("c") }, L(c, "dim")));
        c = Case("stack_dim_last");
        Expect(c, "out", stack(new[] { c.Tensor("a"), c.Tensor("b"), c.Tensor("c") }, L(c, "dim")));
    }

    [Fact]
    public void SplitChunkUnbind()
    {
        using var scope = NewDisposeScope();
        var c = Case("split_int");
        ExpectList(c, "out", c.Tensor("x").split(L(c, "size"), L(c, "dim")));
        c = Case("split_sizes");
        ExpectList(c, "out", c.Tensor("x").split(Ls(c, "sizes"), L(c, "dim")));
        c = Case("split_int_dim1");
        ExpectList(c, "out", c.Tensor("x").split(L(c, "size"), L(c, "dim")));
        c = Case("chunk");
        ExpectList(c, "out", c.Tensor("x").chunk(L(c, "chunks"), L(c, "dim")));
        c = Case("chunk_dim1");
        ExpectList(c, "out", c.Tensor("x").chunk(L(c, "chunks"), L(c, "dim")));
        c = Case("unbind");
        ExpectList(c, "out", c.Tensor("x").unbind(L(c, "dim")));
    }
}
