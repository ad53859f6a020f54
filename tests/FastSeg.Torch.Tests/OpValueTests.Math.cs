using FastSeg.Torch;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Torch.Tests;

/// <summary>Arithmetic, comparisons, reductions, matmul, pointwise math, in-place ops and dtype conversions.</summary>
public partial class OpValueTests
{
    // ---- arithmetic with broadcasting ----------------------------------------------------------------------------

    [Fact]
    public void BroadcastingArithmeticOperators()
    {
        using var scope = NewDisposeScope();
        var c = Case("add_broadcast");
        Expect(c, "out", c.Tensor("a") + c.Tensor("b"));
        c = Case("add_alpha");
        Expect(c, "out", c.Tensor("a").add(c.Tensor("b"), D(c, "alpha")));
        c = Case("sub_broadcast");
        Expect(c, "out", c.Tensor("a") - c.Tensor("b"));
        c = Case("sub_alpha");
        Expect(c, "out", c.Tensor("a").sub(c.Tensor("b"), D(c, "alpha")));
        c = Case("mul_broadcast");
        Expect(c, "out", c.Tensor("a") * c.Tensor("b"));
        c = Case("div_broadcast");
        Expect(c, "out", c.Tensor("a") / c.Tensor("b"));
    }

    [Fact]
    public void ScalarOperatorsOnBothSides()
    {
        using var scope = NewDisposeScope();
        var c = Case("scalar_ops");
        var a = c.Tensor("a");
        Expect(c, "plus", a + 2.5);
        Expect(c, "minus", a - 1.5);
        Expect(c, "times", a * 3);
        Expect(c, "over", a / 4);
        Expect(c, "rplus", 2 + a);
        Expect(c, "rtimes", 3 * a);
        Expect(c, "rminus", 2 - a);
        Expect(c, "rover", 3 / a);
        Expect(c, "rminus_float", 0.5 - a);
        Expect(c, "rover_float", 1.5 / a);
        Expect(c, "neg", -a);
    }

    [Fact]
    public void Int64ArithmeticKeepsIntegersOrPromotesLikePyTorch()
    {
        using var scope = NewDisposeScope();
        var c = Case("int64_arith");
        var a = c.Tensor("a");
        var b = c.Tensor("b");
        Expect(c, "plus", a + 2);
        Expect(c, "times", a * 3);
        Expect(c, "minus_t", a - b);
        Expect(c, "rminus", 5 - a);
        Expect(c, "truediv", a / 2);
        Expect(c, "truediv_t", a / b);
        Expect(c, "floordiv", a.div(b, "floor"));
        Expect(c, "truncdiv", a.div(b, "trunc"));
        Expect(c, "rem", a % 3);
        Expect(c, "plus_float", a + 0.5);
        Expect(c, "minus_float", a - 1.5);
        Expect(c, "rminus_float", 1.5 - a);
        Expect(c, "rover", 3 / a);
    }

    [Fact]
    public void ComparisonsWithTensors()
    {
        using var scope = NewDisposeScope();
        var c = Case("compare_tensor");
        var a = c.Tensor("a");
        var b = c.Tensor("b");
        Expect(c, "eq", a.eq(b));
        Expect(c, "ne", a.ne(b));
        Expect(c, "lt", a.lt(b));
        Expect(c, "le", a.le(b));
        Expect(c, "gt", a.gt(b));
        Expect(c, "ge", a.ge(b));
        Expect(c, "lt", a < b);
        Expect(c, "le", a <= b);
        Expect(c, "gt", a > b);
        Expect(c, "ge", a >= b);
    }

    [Fact]
    public void ComparisonsWithScalars()
    {
        using var scope = NewDisposeScope();
        var c = Case("compare_scalar");
        var a = c.Tensor("a");
        double s = D(c, "s");
        Expect(c, "eq", a.eq(s));
        Expect(c, "ne", a.ne(s));
        Expect(c, "lt", a.lt(s));
        Expect(c, "le", a.le(s));
        Expect(c, "gt", a.gt(s));
        Expect(c, "ge", a.ge(s));
        Expect(c, "lt", a < s);
        Expect(c, "le", a <= s);
        Expect(c, "gt", a > s);
        Expect(c, "ge", a >= s);
        c = Case("compare_int64_scalar");
        var i = c.Tensor("a");
        long si = L(c, "s");
        Expect(c, "eq", i.eq(si));
        Expect(c, "lt", i < si);
        Expect(c, "ge", i >= si);
    }

    [Fact]
    public void LogicalOperators()
    {
        using var scope = NewDisposeScope();
        var c = Case("logical");
        var p = c.Tensor("p");
        var q = c.Tensor("q");
        Expect(c, "and_", p & q);
        Expect(c, "or_", p | q);
        Expect(c, "not_", !p);
    }

    [Fact]
    public void Where()
    {
        using var scope = NewDisposeScope();
        var c = Case("where_tensors");
        Expect(c, "out", where(c.Tensor("cond"), c.Tensor("x"), c.Tensor("y")));
        c = Case("where_scalar_other");
        Expect(c, "out", where(c.Tensor("cond"), c.Tensor("x"), D(c, "y")));
        c = Case("where_scalar_self");
        Expect(c, "out", where(c.Tensor("cond"), D(c, "x"), c.Tensor("y")));
    }

    [Fact]
    public void Clamp()
    {
        using var scope = NewDisposeScope();
        var c = Case("clamp_min");
        Expect(c, "out", c.Tensor("x").clamp(min: D(c, "min")));
        c = Case("clamp_max");
        Expect(c, "out", c.Tensor("x").clamp(max: D(c, "max")));
        c = Case("clamp_both");
        Expect(c, "out", c.Tensor("x").clamp(D(c, "min"), D(c, "max")));
        Expect(c, "out", clamp(c.Tensor("x"), D(c, "min"), D(c, "max")));
        c = Case("clamp_tensors");
        Expect(c, "out", c.Tensor("x").clamp(c.Tensor("min"), c.Tensor("max")));
        Expect(c, "min_only", c.Tensor("x").clamp(c.Tensor("min"), null));
        Expect(c, "max_only", c.Tensor("x").clamp(null, c.Tensor("max")));
        c = Case("clamp_min_fn");
        Expect(c, "out", c.Tensor("x").clamp_min(D(c, "min")));
        c = Case("maximum_minimum");
        Expect(c, "maximum", maximum(c.Tensor("a"), c.Tensor("b")));
        Expect(c, "minimum", minimum(c.Tensor("a"), c.Tensor("b")));
    }

    // ---- reductions ----------------------------------------------------------------------------------------------

    [Fact]
    public void SumAndMean()
    {
        using var scope = NewDisposeScope();
        var c = Case("sum_all");
        Expect(c, "out", c.Tensor("x").sum());
        c = Case("sum_dims_keepdim");
        Expect(c, "out", c.Tensor("x").sum(Ls(c, "dims"), keepdim: true));
        c = Case("sum_dim");
        Expect(c, "out", c.Tensor("x").sum(L(c, "dim")));
        c = Case("sum_float64_dtype");
        Expect(c, "out", c.Tensor("x").sum(L(c, "dim"), type: ScalarType.Float64));
        c = Case("mean_all");
        Expect(c, "out", c.Tensor("x").mean());
        c = Case("mean_dim_keepdim");
        Expect(c, "out", c.Tensor("x").mean(L(c, "dim"), keepdim: true));
        c = Case("mean_dims");
        Expect(c, "out", c.Tensor("x").mean(Ls(c, "dims")));
        c = Case("reduce_dim0"); // the literal 0 must select dimension 0, not a dtype
        Expect(c, "sum0", c.Tensor("x").sum(0));
        Expect(c, "mean0", c.Tensor("x").mean(0));
        c = Case("sum_int64");
        Expect(c, "all", c.Tensor("x").sum());
        Expect(c, "dim", c.Tensor("x").sum(0));
    }

    [Fact]
    public void MaxMinWithAndWithoutDim()
    {
        using var scope = NewDisposeScope();
        var c = Case("max_min");
        var x = c.Tensor("x");
        Expect(c, "max", x.max());
        Expect(c, "min", x.min());
        var (v1, i1) = x.max(1);
        Expect(c, "max1_values", v1);
        Expect(c, "max1_indices", i1);
        var (v0, i0) = x.min(0, keepdim: true);
        Expect(c, "min0k_values", v0);
        Expect(c, "min0k_indices", i0);
    }

    [Fact]
    public void ArgmaxArgmin()
    {
        using var scope = NewDisposeScope();
        var c = Case("argmax");
        var x = c.Tensor("x");
        Expect(c, "all", x.argmax());
        Expect(c, "all", argmax(x));
        Expect(c, "dim1k", x.argmax(1, keepdim: true));
        Expect(c, "dim_last", x.argmax(-1));
        Expect(c, "argmin0", x.argmin(0));
    }

    [Fact]
    public void Topk()
    {
        using var scope = NewDisposeScope();
        var c = Case("topk");
        var x = c.Tensor("x");
        var (lv, li) = x.topk(3, dim: -1);
        Expect(c, "largest_values", lv);
        Expect(c, "largest_indices", li);
        var (sv, si) = topk(x, 2, dim: 0, largest: false);
        Expect(c, "smallest_values", sv);
        Expect(c, "smallest_indices", si);
    }

    [Fact]
    public void AmaxAminSortArgsort()
    {
        using var scope = NewDisposeScope();
        var c = Case("amax_amin");
        var x = c.Tensor("x");
        Expect(c, "amax", x.amax(new long[] { 0, 2 }, keepdim: true));
        Expect(c, "amax1", x.amax(new long[] { 1 }));
        Expect(c, "amin", x.amin(new long[] { -1 }));
        c = Case("sort");
        var (v, i) = c.Tensor("x").sort(1, descending: true);
        Expect(c, "values", v);
        Expect(c, "indices", i);
        Expect(c, "argsort", c.Tensor("x").argsort(-1));
    }

    [Fact]
    public void OtherReductions()
    {
        using var scope = NewDisposeScope();
        var c = Case("misc_reductions");
        var x = c.Tensor("x");
        Expect(c, "cumsum", x.cumsum(1));
        Expect(c, "prod", x[0].prod());
        Expect(c, "norm", x.norm());
        Expect(c, "norm1", x.norm(1, new long[] { 1 }, keepdim: true));
        Expect(c, "var", x.var());
        Expect(c, "var0", x.var(new long[] { 0 }, unbiased: false));
        Expect(c, "std1", x.std(new long[] { 1 }, keepdim: true));
        Expect(c, "logsumexp", x.logsumexp(new long[] { 1 }));
        Expect(c, "any", (x > 1).any());
        Expect(c, "all", (x > -5).all());
    }

    // ---- matmul and pointwise math -------------------------------------------------------------------------------

    [Fact]
    public void MatmulMmBmm()
    {
        using var scope = NewDisposeScope();
        var c = Case("matmul_broadcast");
        Expect(c, "out", matmul(c.Tensor("a"), c.Tensor("b")));
        c = Case("matmul_vector");
        Expect(c, "out", c.Tensor("a").matmul(c.Tensor("b")));
        Expect(c, "mv", c.Tensor("b").t().matmul(c.Tensor("a")));
        c = Case("mm");
        Expect(c, "out", c.Tensor("a").mm(c.Tensor("b")));
        c = Case("bmm");
        Expect(c, "out", bmm(c.Tensor("a"), c.Tensor("b")));
    }

    [Fact]
    public void PointwiseMath()
    {
        using var scope = NewDisposeScope();
        var c = Case("pointwise");
        var x = c.Tensor("x");
        var pos = c.Tensor("pos");
        Expect(c, "exp", exp(x));
        Expect(c, "log", log(pos));
        Expect(c, "sqrt", sqrt(pos));
        Expect(c, "pow2", pow(x, 2));
        Expect(c, "pow_half", pos.pow(0.5));
        Expect(c, "pow_m15", pos.pow(-1.5));
        Expect(c, "pow_tensor", pos.pow(x));
        Expect(c, "abs", abs(x));
        Expect(c, "rsqrt", pos.rsqrt());
        Expect(c, "log1p", pos.log1p());
        Expect(c, "sign", x.sign());
        Expect(c, "square", x.square());
        Expect(c, "floor", (x * 3).floor());
        Expect(c, "ceil", (x * 3).ceil());
        Expect(c, "round", (x * 2).round());
    }

    // ---- in-place ------------------------------------------------------------------------------------------------

    [Fact]
    public void InPlaceAddSubMulDiv()
    {
        using var scope = NewDisposeScope();
        var c = Case("add_inplace_alpha");
        var y = c.Tensor("x");
        Assert.Same(y, y.add_(c.Tensor("b"), D(c, "alpha")));
        Expect(c, "out", y);
        c = Case("add_inplace_scalar");
        y = c.Tensor("x");
        y.add_(D(c, "s"));
        Expect(c, "out", y);
        c = Case("sub_inplace_alpha");
        y = c.Tensor("x");
        y.sub_(c.Tensor("b"), L(c, "alpha"));
        Expect(c, "out", y);
        c = Case("mul_inplace");
        y = c.Tensor("x");
        y.mul_(c.Tensor("b"));
        Expect(c, "out_tensor", y);
        y = c.Tensor("x");
        y.mul_(L(c, "s"));
        Expect(c, "out_scalar", y);
        c = Case("div_inplace");
        y = c.Tensor("x");
        y.div_(c.Tensor("b"));
        Expect(c, "out_tensor", y);
        y = c.Tensor("x");
        y.div_(L(c, "s"));
        Expect(c, "out_scalar", y);
    }

    [Fact]
    public void InPlaceCopyZeroFill()
    {
        using var scope = NewDisposeScope();
        var c = Case("copy_inplace_broadcast_float64");
        var y = c.Tensor("x");
        var src = c.Tensor("src");
        Assert.Equal(ScalarType.Float64, src.dtype);
        Assert.Same(y, y.copy_(src));
        Expect(c, "out", y);
        c = Case("zero_inplace_view");
        y = c.Tensor("x");
        y.slice(1, 1, 3).zero_();
        Expect(c, "out", y);
        c = Case("fill_inplace_view");
        y = c.Tensor("x");
        y.narrow(0, 1, 2).fill_(D(c, "value"));
        Expect(c, "out", y);
    }

    [Fact]
    public void InPlaceClampMaskedFillLerp()
    {
        using var scope = NewDisposeScope();
        var c = Case("clamp_inplace");
        var y = c.Tensor("x");
        y.clamp_(-0.5, 0.5);
        Expect(c, "both", y);
        y = c.Tensor("x");
        y.clamp_(min: 0);
        Expect(c, "min_only", y);
        c = Case("masked_fill_inplace");
        y = c.Tensor("x");
        Assert.Same(y, y.masked_fill_(c.Tensor("mask"), L(c, "value")));
        Expect(c, "out", y);
        c = Case("lerp_inplace");
        y = c.Tensor("x");
        y.lerp_(c.Tensor("end"), D(c, "weight"));
        Expect(c, "out", y);
    }

    [Fact]
    public void InPlaceAddcmulAddcdivAndUnary()
    {
        using var scope = NewDisposeScope();
        var c = Case("addcmul_addcdiv_inplace");
        var y = c.Tensor("x");
        y.addcmul_(c.Tensor("t1"), c.Tensor("t2"), 0.5);
        Expect(c, "addcmul", y);
        y = c.Tensor("x");
        y.addcdiv_(c.Tensor("t1"), c.Tensor("t2"), -2);
        Expect(c, "addcdiv", y);
        c = Case("unary_inplace");
        y = c.Tensor("x").abs();
        y.sqrt_();
        Expect(c, "sqrt", y);
        y = c.Tensor("x");
        y.relu_();
        Expect(c, "relu", y);
    }

    // ---- dtypes --------------------------------------------------------------------------------------------------

    [Fact]
    public void Float64Ops()
    {
        using var scope = NewDisposeScope();
        var c = Case("float64_ops");
        var a = c.Tensor("a");
        var b = c.Tensor("b");
        Assert.Equal(ScalarType.Float64, a.dtype);
        Expect(c, "matmul", a.matmul(b), rtol: 1e-12, atol: 1e-14);
        Expect(c, "sum", a.sum(1), rtol: 1e-12, atol: 1e-14);
        Expect(c, "softmax", a.softmax(-1), rtol: 1e-12, atol: 1e-14);
        Expect(c, "exp", a.exp(), rtol: 1e-12, atol: 1e-14);
        Expect(c, "add_float32", a + b[0].to(ScalarType.Float32).slice(0, 0, 4).reshape(4), rtol: 1e-12, atol: 1e-14);
        c = Case("float64_conv2d");
        Expect(c, "out", nn.functional.conv2d(c.Tensor("x"), c.Tensor("w"), padding: new long[] { 1, 1 }), rtol: 1e-12, atol: 1e-14);
    }

    [Fact]
    public void FloatConversionsRoundLikePyTorch()
    {
        using var scope = NewDisposeScope();
        var c = Case("float_conversions");
        var x = c.Tensor("x");
        // Exact comparisons: a conversion has one right answer (overflow to inf and underflow to 0 included).
        Expect(c, "bf16", x.to(ScalarType.BFloat16), rtol: 0, atol: 0);
        Expect(c, "f16", x.half(), rtol: 0, atol: 0);
        Expect(c, "bf16_back", x.bfloat16().@float(), rtol: 0, atol: 0);
        Expect(c, "f16_back", x.to(ScalarType.Float16).to(ScalarType.Float32), rtol: 0, atol: 0);
        Expect(c, "f64", x.@double(), rtol: 0, atol: 0);
        Expect(c, "int64", x.slice(0, 1, null).@long());
        Expect(c, "int32", x.slice(0, 1, null).@int());
        Expect(c, "bool", x.round().@bool());
    }

    [Fact]
    public void HalfPrecisionOps()
    {
        using var scope = NewDisposeScope();
        var c = Case("half_ops");
        var bf = c.Tensor("bf");
        var h = c.Tensor("h");
        Assert.Equal(ScalarType.BFloat16, bf.dtype);
        Assert.Equal(ScalarType.Float16, h.dtype);
        Expect(c, "bf_add", bf + bf * 2, rtol: 0, atol: 0);
        Expect(c, "h_mul", h * h, rtol: 0, atol: 0);
        Expect(c, "bf_sum", bf.sum(), rtol: 1e-2, atol: 1e-2);
        Expect(c, "h_abs", h.abs(), rtol: 0, atol: 0);
        Expect(c, "bf_to_h", bf.to(ScalarType.Float16), rtol: 0, atol: 0);
    }

    [Fact]
    public void IntAndBoolConversions()
    {
        using var scope = NewDisposeScope();
        var c = Case("int_bool_conversions");
        var x = c.Tensor("x");
        Expect(c, "to_float", x.@float());
        Expect(c, "to_bool", x.@bool());
        Expect(c, "bool_to_long", (x > 0).@long());
        Expect(c, "bool_sum", (x > 0).sum());
        Expect(c, "to_uint8", x.abs().@byte());
    }
}
