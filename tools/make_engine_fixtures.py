"""Writes tests/FastSeg.Torch.Tests/Fixtures/engine_ops.json: inputs and PyTorch 1.13 results for every op family
that FastSeg.Torch exposes. OpValueTests*.cs replays each case through the C# API and compares the values.

Run from anywhere with Debian's interpreter:  /usr/bin/python3 tools/make_engine_fixtures.py

Conventions kept small on purpose so the JSON stays compact and the C# side needs no guessing:
  * every case is {name: {key: tensor or plain value}}; inputs and parameters first, results after;
  * random inputs are drawn from one seeded generator and snapped to a 1/64 grid, so that they print short and
    sums of products of them are exact in float32 (results do not depend on the summation order);
  * inputs for max/argmax/topk/pooling-with-indices are permutations (no ties), so the chosen indices are unique.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_io  # noqa: E402

torch.manual_seed(0)
GEN = torch.Generator().manual_seed(20240611)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "FastSeg.Torch.Tests", "Fixtures",
                   "engine_ops.json")

cases = {}


def case(name, **entries):
    assert name not in cases, name
    cases[name] = entries


def grid(x, step=64):
    return torch.round(x * step) / step


def randn(*shape, scale=1.0, dtype=torch.float32):
    """Normal samples times scale, snapped to the 1/64 grid."""
    return grid(torch.randn(*shape, generator=GEN) * scale).to(dtype)


def rand(*shape, low=0.0, high=1.0):
    return grid(torch.rand(*shape, generator=GEN) * (high - low) + low)


def distinct(*shape, scale=0.125):
    """Distinct values (a shuffled ramp centred on zero), no ties anywhere."""
    n = 1
    for s in shape:
        n *= s
    perm = torch.randperm(n, generator=GEN).to(torch.float32)
    return ((perm - n // 2) * scale).reshape(shape)


def randint(low, high, *shape):
    return torch.randint(low, high, shape, generator=GEN)


def mask(*shape, p=0.5):
    return torch.rand(*shape, generator=GEN) < p


# ---- indexing and slicing ----------------------------------------------------------------------------------------

x = randn(4, 6, 5)
case("narrow", x=x, dim=1, start=2, length=3, out=x.narrow(1, 2, 3))
case("narrow_negative_dim", x=x, dim=-1, start=1, length=3, out=x.narrow(-1, 1, 3))

x = randn(5, 9)
case("slice_step", x=x, dim=1, start=1, end=8, step=3, out=x[:, 1:8:3])
case("slice_open_step", x=x, dim=0, step=2, out=x[::2])
case("slice_negative_start", x=x, dim=1, start=-4, end=9, step=1, out=x[:, -4:9])

x = randn(3, 4, 5)
case("select", x=x, dim=1, index=2, out=x.select(1, 2))
case("select_negative", x=x, dim=-1, index=-1, out=x.select(-1, -1))
case("indexer_ints", x=x, i=-1, j=2, out=x[-1, 2])
row = randn(5)
y = x.clone()
y[1, 3] = row
z = x.clone()
z[-1] = 0.5
case("indexer_set", x=x, row=row, set_row=y, set_plane=z)

x = randn(5, 4)
idx = torch.tensor([4, 0, 2, 2])
case("index_select_dim0", x=x, dim=0, index=idx, out=x.index_select(0, idx))
idx = torch.tensor([3, 1])
case("index_select_dim1", x=x, dim=1, index=idx, out=x.index_select(1, idx))

x = randn(3, 4)
m = x > 0
case("bool_mask_index", x=x, mask=m, out=x[m])
case("masked_select", x=x, mask=m, out=x.masked_select(m))
m_row = torch.tensor([True, False, True, True])
case("masked_select_broadcast", x=x, mask=m_row, out=x.masked_select(m_row))
m = mask(3, 4, p=0.4)
case("masked_fill", x=x, mask=m, value=-2.5, out=x.masked_fill(m, -2.5))
m_b = torch.tensor([[False, True, True, False]])
case("masked_fill_broadcast", x=x, mask=m_b, value=7, out=x.masked_fill(m_b, 7))
xi = randint(-5, 5, 3, 4)
case("masked_fill_int64", x=xi, mask=m, value=9, out=xi.masked_fill(m, 9))

x = randn(5, 3)
idx = torch.tensor([[4, 0], [1, 4]])
case("index_int64_tensor", x=x, index=idx, out=x[idx])
rows = torch.tensor([0, 2, 4, 4])
cols = torch.tensor([2, 0, 1, 2])
case("index_two_tensors", x=x, rows=rows, cols=cols, out=x[rows, cols])
case("index_skip_first_dim", x=x, cols=cols, out=x[:, cols])
y = x.clone()
m = x[:, 0] > 0
vals = torch.tensor(-1.0)
y[m] = vals
case("index_put_bool_mask", x=x, mask=m, value=vals, out=y)
y = x.clone()
rows_acc = torch.tensor([1, 1, 3])
vals = randn(3, 3)
y.index_put_((rows_acc,), vals, accumulate=True)
case("index_put_accumulate", x=x, index=rows_acc, values=vals, out=y)

x = randn(3, 5)
idx = torch.tensor([[4, 0], [2, 2], [1, 3]])
case("gather_dim1", x=x, dim=1, index=idx, out=x.gather(1, idx))
idx = torch.tensor([[2, 0, 1, 1, 0], [0, 0, 2, 1, 2]])
case("gather_dim0", x=x, dim=0, index=idx, out=x.gather(0, idx))
xn = x * (x > 0)
case("nonzero", x=xn, out=torch.nonzero(xn))

# ---- views and shapes ----------------------------------------------------------------------------------------------

x = randn(2, 3, 4)
case("view", x=x, shape=[4, -1], out=x.view(4, -1))
case("reshape_noncontiguous", x=x, shape=[3, 8], out=x.transpose(0, 2).reshape(3, 8))
case("permute", x=x, dims=[2, 0, 1], out=x.permute(2, 0, 1))
case("transpose", x=x, dim0=0, dim1=2, out=x.transpose(0, 2))
x2 = randn(3, 5)
case("t", x=x2, out=x2.t())
x = randn(2, 1, 3, 1)
case("squeeze_all", x=x, out=x.squeeze())
case("squeeze_dim", x=x, dim=1, out=x.squeeze(1))
case("squeeze_dim_not_one", x=x, dim=2, out=x.squeeze(2))
case("unsqueeze_last", x=x2, dim=-1, out=x2.unsqueeze(-1))
case("unsqueeze_middle", x=x2, dim=1, out=x2.unsqueeze(1))
x = randn(3, 1)
case("expand", x=x, sizes=[2, 3, 4], out=x.expand(2, 3, 4))
case("expand_keep", x=x, sizes=[-1, 5], out=x.expand(-1, 5))
other = torch.zeros(2, 3, 6)
case("expand_as", x=x, other=other, out=x.expand_as(other))
x = randn(2, 3, 2, 2)
case("flatten_from1", x=x, start=1, end=-1, out=x.flatten(1))
case("flatten_0_1", x=x, start=0, end=1, out=x.flatten(0, 1))
case("flatten_all", x=x, start=0, end=-1, out=x.flatten())
x = randn(2, 3)
case("repeat", x=x, repeats=[2, 1, 3], out=x.repeat(2, 1, 3))
x = randn(2, 3, 4)
case("flip", x=x, dims=[0, 2], out=x.flip(0, 2))

a, b, c = randn(2, 3), randn(1, 3), randn(4, 3)
case("cat_dim0", a=a, b=b, c=c, dim=0, out=torch.cat([a, b, c], 0))
a, b = randn(2, 3, 2), randn(2, 3, 5)
case("cat_dim_last", a=a, b=b, dim=-1, out=torch.cat([a, b], -1))
a, b, c = randn(2, 3), randn(2, 3), randn(2, 3)
case("stack_dim1", a=a, b=b, c=c, dim=1, out=torch.stack([a, b, c], 1))
case("stack_dim_last", a=a, b=b, c=c, dim=-1, out=torch.stack([a, b, c], -1))

x = randn(7, 3)
case("split_int", x=x, size=3, dim=0, out=list(x.split(3, 0)))
case("split_sizes", x=x, sizes=[2, 4, 1], dim=0, out=list(x.split([2, 4, 1], 0)))
x = randn(2, 5)
case("split_int_dim1", x=x, size=2, dim=1, out=list(x.split(2, 1)))
x = randn(7, 4)
case("chunk", x=x, chunks=3, dim=0, out=list(x.chunk(3, 0)))
case("chunk_dim1", x=x, chunks=2, dim=1, out=list(x.chunk(2, 1)))
case("unbind", x=x[:3], dim=1, out=list(x[:3].unbind(1)))

# ---- arithmetic, comparisons, where, clamp -----------------------------------------------------------------------

a = randn(2, 3, 4)
b = randn(3, 1)
b_nz = torch.where(b == 0, torch.full_like(b, 0.5), b)
case("add_broadcast", a=a, b=b, out=a + b)
case("add_alpha", a=a, b=b, alpha=2.5, out=torch.add(a, b, alpha=2.5))
case("sub_broadcast", a=a, b=b, out=a - b)
case("sub_alpha", a=a, b=b, alpha=-0.5, out=torch.sub(a, b, alpha=-0.5))
case("mul_broadcast", a=a, b=b, out=a * b)
case("div_broadcast", a=a, b=b_nz, out=a / b_nz)
a_nz = torch.where(a == 0, torch.full_like(a, 0.25), a)
case("scalar_ops", a=a_nz,
     plus=a_nz + 2.5, minus=a_nz - 1.5, times=a_nz * 3, over=a_nz / 4,
     rplus=2 + a_nz, rtimes=3 * a_nz, rminus=2 - a_nz, rover=3 / a_nz, rminus_float=0.5 - a_nz, rover_float=1.5 / a_nz,
     neg=-a_nz)
ia = randint(-9, 10, 3, 4)
ib = torch.tensor([3, -2, 5, 4])
case("int64_arith", a=ia, b=ib,
     plus=ia + 2, times=ia * 3, minus_t=ia - ib, rminus=5 - ia, truediv=ia / 2, truediv_t=ia / ib,
     floordiv=torch.div(ia, ib, rounding_mode="floor"), truncdiv=torch.div(ia, ib, rounding_mode="trunc"),
     rem=ia % 3, plus_float=ia + 0.5, minus_float=ia - 1.5, rminus_float=1.5 - ia, rover=3 / ia)

a = randn(3, 4)
b = torch.cat([a[0, :2], randn(2)])  # row 0 shares two values with b: eq/le/ge see equal elements
case("compare_tensor", a=a, b=b,
     eq=a.eq(b), ne=a.ne(b), lt=a.lt(b), le=a.le(b), gt=a.gt(b), ge=a.ge(b))
s = float(a[1, 2])
case("compare_scalar", a=a, s=s,
     eq=a.eq(s), ne=a.ne(s), lt=a.lt(s), le=a.le(s), gt=a.gt(s), ge=a.ge(s))
ia = randint(-3, 4, 3, 4)
case("compare_int64_scalar", a=ia, s=1, eq=ia.eq(1), lt=ia < 1, ge=ia >= 1)
p, q = mask(3, 4), mask(4)
case("logical", p=p, q=q, and_=p & q, or_=p | q, not_=~p)

cond = mask(2, 3, 4)
xw, yw = randn(2, 3, 4), randn(3, 1)
case("where_tensors", cond=cond, x=xw, y=yw, out=torch.where(cond, xw, yw))
case("where_scalar_other", cond=cond, x=xw, y=-1.25, out=torch.where(cond, xw, torch.tensor(-1.25)))
case("where_scalar_self", cond=cond, x=0.75, y=xw, out=torch.where(cond, torch.tensor(0.75), xw))

x = randn(3, 5, scale=2)
case("clamp_min", x=x, min=-0.5, out=x.clamp(min=-0.5))
case("clamp_max", x=x, max=0.25, out=x.clamp(max=0.25))
case("clamp_both", x=x, min=-1.0, max=0.5, out=x.clamp(-1.0, 0.5))
lo, hi = randn(5, scale=0.5) - 1, randn(3, 1, scale=0.5) + 1
case("clamp_tensors", x=x, min=lo, max=hi, out=x.clamp(lo, hi), min_only=x.clamp(min=lo), max_only=x.clamp(max=hi))
case("clamp_min_fn", x=x, min=0.125, out=torch.clamp_min(x, 0.125))
case("maximum_minimum", a=x, b=lo, maximum=torch.maximum(x, lo), minimum=torch.minimum(x, lo))

# ---- reductions --------------------------------------------------------------------------------------------------

x = randn(2, 3, 4)
case("sum_all", x=x, out=x.sum())
case("sum_dims_keepdim", x=x, dims=[0, 2], out=x.sum([0, 2], keepdim=True))
case("sum_dim", x=x, dim=1, out=x.sum(1))
case("sum_float64_dtype", x=x, dim=-1, out=x.sum(-1, dtype=torch.float64))
case("mean_all", x=x, out=x.mean())
case("mean_dim_keepdim", x=x, dim=1, out=x.mean(1, keepdim=True))
case("mean_dims", x=x, dims=[-1, -2], out=x.mean([-1, -2]))
case("reduce_dim0", x=x, sum0=x.sum(0), mean0=x.mean(0))
xi = randint(-10, 10, 3, 4)
case("sum_int64", x=xi, all=xi.sum(), dim=xi.sum(0))

x = distinct(3, 4, 5)
vmax, imax = x.max(1)
vmin, imin = x.min(0, keepdim=True)
case("max_min", x=x, max=x.max(), min=x.min(), max1_values=vmax, max1_indices=imax,
     min0k_values=vmin, min0k_indices=imin)
case("argmax", x=x, all=x.argmax(), dim1k=x.argmax(1, keepdim=True), dim_last=x.argmax(-1), argmin0=x.argmin(0))
tv, ti = x.topk(3, dim=-1)
sv, si = x.topk(2, dim=0, largest=False)
case("topk", x=x, largest_values=tv, largest_indices=ti, smallest_values=sv, smallest_indices=si)
case("amax_amin", x=x, amax=x.amax([0, 2], keepdim=True), amax1=x.amax([1]), amin=x.amin([-1]))
sv, si = x.sort(1, descending=True)
case("sort", x=x, values=sv, indices=si, argsort=x.argsort(-1))
x = randn(3, 4)
case("misc_reductions", x=x, cumsum=x.cumsum(1), prod=x[0].prod(), norm=torch.linalg.vector_norm(x),
     norm1=torch.linalg.vector_norm(x, 1, dim=[1], keepdim=True), var=x.var(), var0=x.var([0], unbiased=False),
     std1=x.std([1], keepdim=True), logsumexp=x.logsumexp([1]), any=(x > 1).any(), all=(x > -5).all())

# ---- matmul and pointwise math -----------------------------------------------------------------------------------

a, b = randn(2, 1, 3, 4), randn(3, 4, 5)
case("matmul_broadcast", a=a, b=b, out=a @ b)
v, mtx = randn(4), randn(4, 3)
case("matmul_vector", a=v, b=mtx, out=v @ mtx, mv=mtx.t() @ v)
a, b = randn(3, 4), randn(4, 2)
case("mm", a=a, b=b, out=a.mm(b))
a, b = randn(2, 3, 4), randn(2, 4, 5)
case("bmm", a=a, b=b, out=a.bmm(b))

x = randn(3, 4, scale=1.5)
pos = x.abs() + 0.25
case("pointwise", x=x, pos=pos, exp=x.exp(), log=pos.log(), sqrt=pos.sqrt(), pow2=x.pow(2), pow_half=pos.pow(0.5),
     pow_m15=pos.pow(-1.5), pow_tensor=pos.pow(x), abs=x.abs(), rsqrt=pos.rsqrt(), log1p=pos.log1p(), sign=x.sign(),
     square=x.square(), floor=(x * 3).floor(), ceil=(x * 3).ceil(), round=(x * 2).round())

# ---- in-place ----------------------------------------------------------------------------------------------------

x, b = randn(2, 3), randn(3)
y = x.clone(); y.add_(b, alpha=-0.5)
case("add_inplace_alpha", x=x, b=b, alpha=-0.5, out=y)
y = x.clone(); y.add_(1.25)
case("add_inplace_scalar", x=x, s=1.25, out=y)
y = x.clone(); y.sub_(b, alpha=2)
case("sub_inplace_alpha", x=x, b=b, alpha=2, out=y)
y = x.clone(); y.mul_(b)
z = x.clone(); z.mul_(-3)
case("mul_inplace", x=x, b=b, out_tensor=y, s=-3, out_scalar=z)
bnz = b.abs() + 0.5
y = x.clone(); y.div_(bnz)
z = x.clone(); z.div_(8)
case("div_inplace", x=x, b=bnz, out_tensor=y, s=8, out_scalar=z)
src = randn(3, dtype=torch.float64)
y = x.clone(); y.copy_(src)
case("copy_inplace_broadcast_float64", x=x, src=src, out=y)
x4 = randn(3, 4)
y = x4.clone(); y[:, 1:3].zero_()
case("zero_inplace_view", x=x4, out=y)
y = x4.clone(); y.narrow(0, 1, 2).fill_(2.5)
case("fill_inplace_view", x=x4, value=2.5, out=y)
y = x4.clone(); y.clamp_(-0.5, 0.5)
z = x4.clone(); z.clamp_(min=0)
case("clamp_inplace", x=x4, both=y, min_only=z)
m = mask(3, 4)
y = x4.clone(); y.masked_fill_(m, -9)
case("masked_fill_inplace", x=x4, mask=m, value=-9, out=y)
end = randn(3, 4)
y = x4.clone(); y.lerp_(end, 0.3)
case("lerp_inplace", x=x4, end=end, weight=0.3, out=y)
t1, t2 = randn(3, 4), randn(4).abs() + 0.5
y = x4.clone(); y.addcmul_(t1, t2, value=0.5)
z = x4.clone(); z.addcdiv_(t1, t2, value=-2)
case("addcmul_addcdiv_inplace", x=x4, t1=t1, t2=t2, addcmul=y, addcdiv=z)
y = x4.abs(); y.sqrt_()
z = x4.clone(); z.relu_()
case("unary_inplace", x=x4, sqrt=y, relu=z)

# ---- convolution ------------------------------------------------------------------------------------------------

x = randn(2, 4, 7, 8)
w = randn(6, 4, 3, 3, scale=0.5)
bias = randn(6)
case("conv2d_stride_padding", x=x, w=w, b=bias, stride=[2, 1], padding=[1, 2], dilation=[1, 1], groups=1,
     out=F.conv2d(x, w, bias, stride=(2, 1), padding=(1, 2)))
w = randn(6, 2, 3, 2, scale=0.5)
case("conv2d_dilation_groups_nobias", x=x, w=w, stride=[1, 2], padding=[2, 0], dilation=[2, 1], groups=2,
     out=F.conv2d(x, w, None, stride=(1, 2), padding=(2, 0), dilation=(2, 1), groups=2))
xd = randn(1, 3, 6, 6)
w = randn(6, 1, 3, 3, scale=0.5)
bias = randn(6)
case("conv2d_depthwise_mult2", x=xd, w=w, b=bias, stride=[1, 1], padding=[1, 1], dilation=[1, 1], groups=3,
     out=F.conv2d(xd, w, bias, padding=1, groups=3))
w = randn(5, 4, 3, 4, scale=0.5)
bias = randn(5)
case("conv2d_same", x=x, w=w, b=bias, dilation=[1, 2], out=F.conv2d(x, w, bias, padding="same", dilation=(1, 2)))
case("conv2d_valid", x=x, w=w, b=bias, dilation=[1, 1], out=F.conv2d(x, w, bias, padding="valid"))

x = randn(1, 4, 3, 4)
w = randn(4, 3, 3, 3, scale=0.5)  # (in, out/groups, kH, kW) with groups 2: 6 output channels
bias = randn(6)
case("conv_transpose2d_stride2_groups", x=x, w=w, b=bias, stride=[2, 2], padding=[1, 1], output_padding=[1, 1],
     groups=2, dilation=[1, 1],
     out=F.conv_transpose2d(x, w, bias, stride=2, padding=1, output_padding=1, groups=2))
w = randn(4, 2, 2, 3, scale=0.5)
case("conv_transpose2d_dilation_nobias", x=x, w=w, stride=[2, 1], padding=[0, 1], output_padding=[1, 0], groups=1,
     dilation=[2, 2],
     out=F.conv_transpose2d(x, w, None, stride=(2, 1), padding=(0, 1), output_padding=(1, 0), dilation=2))

# ---- normalisation and linear ------------------------------------------------------------------------------------

x = randn(4, 3, 5, 5, scale=2) + 0.5
rm, rv = randn(3, scale=0.3), rand(3, low=0.5, high=1.5)
wgt, bias = randn(3) + 1, randn(3)
rm_t, rv_t = rm.clone(), rv.clone()
out_t = F.batch_norm(x, rm_t, rv_t, wgt, bias, training=True, momentum=0.2, eps=1e-3)
case("batch_norm_train", x=x, running_mean=rm, running_var=rv, weight=wgt, bias=bias, momentum=0.2, eps=1e-3,
     out=out_t, running_mean_after=rm_t, running_var_after=rv_t)
case("batch_norm_eval", x=x, running_mean=rm, running_var=rv, weight=wgt, bias=bias, eps=1e-5,
     out=F.batch_norm(x, rm, rv, wgt, bias, training=False))
case("batch_norm_train_no_stats", x=x, out=F.batch_norm(x, None, None, training=True))
x = randn(2, 3, 4, 5)
w_ln, b_ln = randn(4, 5), randn(4, 5)
case("layer_norm", x=x, weight=w_ln, bias=b_ln, out=F.layer_norm(x, [4, 5], w_ln, b_ln))
x = randn(2, 6, 3, 3)
w_gn, b_gn = randn(6), randn(6)
case("group_norm", x=x, weight=w_gn, bias=b_gn, groups=3, out=F.group_norm(x, 3, w_gn, b_gn))

x, w, bias = randn(2, 3, 5), randn(4, 5), randn(4)
case("linear", x=x, w=w, b=bias, out=F.linear(x, w, bias), out_nobias=F.linear(x, w))

# ---- pooling -----------------------------------------------------------------------------------------------------

x = distinct(1, 2, 7, 9)
case("max_pool2d_ceil_padding", x=x, kernel=[3, 3], stride=[2, 2], padding=[1, 1],
     out=F.max_pool2d(x, 3, 2, 1, ceil_mode=True))
case("max_pool2d_rect_dilation", x=x, kernel=[2, 3], stride=[1, 2], padding=[0, 1], dilation=[2, 1],
     out=F.max_pool2d(x, (2, 3), (1, 2), (0, 1), dilation=(2, 1)))
x = distinct(2, 2, 6, 8)
o, i = F.max_pool2d(x, 2, 2, return_indices=True)
case("max_pool2d_indices_unpool", x=x, out=o, indices=i, unpooled=F.max_unpool2d(o, i, 2, 2))
x = distinct(1, 3, 7, 9)
o, i = F.max_pool2d(x, 3, 2, 1, return_indices=True)
case("max_pool2d_indices_unpool_output_size", x=x, out=o, indices=i,
     unpooled=F.max_unpool2d(o, i, 3, 2, 1, output_size=[7, 9]), unpooled_default=F.max_unpool2d(o, i, 3, 2, 1))

x = randn(1, 2, 7, 9)
case("avg_pool2d_ceil_exclude_pad", x=x, out=F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False))
case("avg_pool2d_divisor", x=x, out=F.avg_pool2d(x, (2, 3), (2, 2), (1, 1), divisor_override=5))
case("avg_pool2d_default", x=x, out=F.avg_pool2d(x, 2))
case("adaptive_avg_pool2d", x=x, out=F.adaptive_avg_pool2d(x, (3, 4)), out1=F.adaptive_avg_pool2d(x, 1),
     out_up=F.adaptive_avg_pool2d(x, (9, 10)))
xd = distinct(1, 2, 7, 9)
o, i = F.adaptive_max_pool2d(xd, (3, 4), return_indices=True)
case("adaptive_max_pool2d", x=xd, out=o, indices=i)

# ---- interpolate, pixel shuffle, pad -----------------------------------------------------------------------------

x = randn(1, 2, 5, 7)
case("interp_bilinear_size_align", x=x, out=F.interpolate(x, size=(8, 11), mode="bilinear", align_corners=True))
case("interp_bilinear_size", x=x, out=F.interpolate(x, size=(8, 11), mode="bilinear", align_corners=False))
case("interp_bilinear_scale2", x=x, out=F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
xs = randn(1, 2, 6, 9)
case("interp_bilinear_scale_half", x=xs, out=F.interpolate(xs, scale_factor=0.5, mode="bilinear", align_corners=False))
case("interp_bilinear_scale_recompute", x=xs,
     out=F.interpolate(xs, scale_factor=1.7, mode="bilinear", align_corners=False, recompute_scale_factor=True))
case("interp_nearest_size", x=x, out=F.interpolate(x, size=(8, 11), mode="nearest"))
case("interp_nearest_scale", x=x, out=F.interpolate(x, scale_factor=(2, 3), mode="nearest"))
case("interp_nearest_scale_half", x=xs, out=F.interpolate(xs, scale_factor=0.5, mode="nearest"))
case("interp_bicubic", x=x, out=F.interpolate(x, size=(9, 12), mode="bicubic", align_corners=False))
case("interp_bicubic_align", x=x, out=F.interpolate(x, size=(9, 12), mode="bicubic", align_corners=True))
case("interp_bicubic_scale", x=x, out=F.interpolate(x, scale_factor=1.5, mode="bicubic", align_corners=False))
case("interp_area_size", x=xs, out=F.interpolate(xs, size=(4, 5), mode="area"))
case("interp_area_scale", x=xs, out=F.interpolate(xs, scale_factor=0.5, mode="area"))

x = randn(1, 8, 2, 3)
case("pixel_shuffle", x=x, out=F.pixel_shuffle(x, 2))
x = randn(1, 2, 4, 6)
case("pixel_unshuffle", x=x, out=F.pixel_unshuffle(x, 2))
x = randn(1, 6, 2, 2)
case("channel_shuffle", x=x, out=F.channel_shuffle(x, 3))

x = randn(1, 2, 4, 5)
case("pad_constant", x=x, pad=[1, 2, 0, 3], value=1.5, out=F.pad(x, [1, 2, 0, 3], "constant", 1.5))
case("pad_constant_negative", x=x, pad=[-1, 2, 1, -2], value=0.0, out=F.pad(x, [-1, 2, 1, -2]))
case("pad_reflect", x=x, pad=[2, 1, 1, 3], out=F.pad(x, [2, 1, 1, 3], "reflect"))
case("pad_replicate", x=x, pad=[1, 3, 2, 0], out=F.pad(x, [1, 3, 2, 0], "replicate"))
case("pad_circular", x=x, pad=[2, 1, 1, 1], out=F.pad(x, [2, 1, 1, 1], "circular"))

# ---- activations -------------------------------------------------------------------------------------------------

x = randn(2, 3, 4, 4, scale=4)
x.view(-1)[:6] = torch.tensor([-3.0, 3.0, 0.0, 6.0, -6.0, 8.0])  # the kinks of relu6/hardswish/hardsigmoid
w1, w3 = torch.tensor([0.25]), torch.tensor([0.1, -0.5, 2.0])
case("activations", x=x, prelu_w1=w1, prelu_w3=w3,
     relu=F.relu(x), relu6=F.relu6(x), leaky_relu=F.leaky_relu(x, 0.2), prelu1=F.prelu(x, w1), prelu3=F.prelu(x, w3),
     elu=F.elu(x, 0.7), selu=F.selu(x), gelu=F.gelu(x), gelu_tanh=F.gelu(x, approximate="tanh"), silu=F.silu(x),
     hardswish=F.hardswish(x), hardsigmoid=F.hardsigmoid(x), sigmoid=torch.sigmoid(x), tanh=torch.tanh(x),
     hardtanh=F.hardtanh(x, -0.5, 2.0))

x = randn(2, 5, 3, scale=3)
case("softmax", x=x, softmax1=F.softmax(x, 1), log_softmax_last=F.log_softmax(x, -1),
     softmax_f64=F.softmax(x, 0, dtype=torch.float64))

x = randn(3, 4)
x[1] = 0  # an all-zero row: the eps clamp keeps it zero
case("normalize", x=x, p2_dim1=F.normalize(x, 2.0, 1), p1_dim0=F.normalize(x, 1.0, 0),
     p3_dim1_eps=F.normalize(x, 3.0, 1, eps=0.5))

# ---- losses ------------------------------------------------------------------------------------------------------

logits = randn(2, 4, 3, 5, scale=2)
target = randint(0, 4, 2, 3, 5)
target[0, 0, :2] = 255
target[1, 2, 4] = 255
cw = torch.tensor([0.5, 1.0, 2.0, 1.5])
case("cross_entropy", logits=logits, target=target, weight=cw, ignore_index=255,
     mean=F.cross_entropy(logits, target, ignore_index=255),
     sum=F.cross_entropy(logits, target, ignore_index=255, reduction="sum"),
     none=F.cross_entropy(logits, target, ignore_index=255, reduction="none"),
     weighted_mean=F.cross_entropy(logits, target, cw, ignore_index=255),
     weighted_none=F.cross_entropy(logits, target, cw, ignore_index=255, reduction="none"),
     smooth_mean=F.cross_entropy(logits, target, ignore_index=255, label_smoothing=0.1),
     smooth_weighted_mean=F.cross_entropy(logits, target, cw, ignore_index=255, label_smoothing=0.2),
     smooth_none=F.cross_entropy(logits, target, ignore_index=255, reduction="none", label_smoothing=0.1),
     smooth_sum=F.cross_entropy(logits, target, cw, ignore_index=255, reduction="sum", label_smoothing=0.1))
logits2, target2 = randn(5, 3), randint(0, 3, 5)
case("cross_entropy_2d_default", logits=logits2, target=target2, mean=F.cross_entropy(logits2, target2))
lp = F.log_softmax(logits, 1)
case("nll_loss", logp=lp, target=target, weight=cw, ignore_index=255,
     mean=F.nll_loss(lp, target, cw, ignore_index=255), none=F.nll_loss(lp, target, ignore_index=255, reduction="none"))

inp = F.log_softmax(randn(3, 5), 1)
tgt = F.softmax(randn(3, 5), 1)
case("kl_div", input=inp, target=tgt,
     batchmean=F.kl_div(inp, tgt, reduction="batchmean"), mean=F.kl_div(inp, tgt, reduction="mean"),
     sum=F.kl_div(inp, tgt, reduction="sum"), none=F.kl_div(inp, tgt, reduction="none"),
     log_target=F.kl_div(inp, tgt.log(), reduction="batchmean", log_target=True))

a, b = randn(3, 4), randn(3, 4)
case("mse_l1", a=a, b=b, mse_mean=F.mse_loss(a, b), mse_sum=F.mse_loss(a, b, reduction="sum"),
     mse_none=F.mse_loss(a, b, reduction="none"), l1_mean=F.l1_loss(a, b))

x = randn(3, 4, scale=2)
t = rand(3, 4)
t[0] = torch.tensor([0.0, 1.0, 1.0, 0.0])
pw = torch.tensor([1.0, 2.0, 0.5, 3.0])
wb = rand(3, 4, low=0.5, high=1.5)
case("bce_with_logits", x=x, target=t, pos_weight=pw, weight=wb,
     mean=F.binary_cross_entropy_with_logits(x, t),
     pos_weight_mean=F.binary_cross_entropy_with_logits(x, t, pos_weight=pw),
     pos_weight_none=F.binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction="none"),
     weighted_sum=F.binary_cross_entropy_with_logits(x, t, wb, reduction="sum", pos_weight=pw))
pr = torch.sigmoid(x)
case("binary_cross_entropy", p=pr, target=t, weight=wb, mean=F.binary_cross_entropy(pr, t),
     weighted_none=F.binary_cross_entropy(pr, t, wb, reduction="none"))

labels = torch.tensor([[0, 3, 1], [4, 4, 2]])
case("one_hot", labels=labels, n5=F.one_hot(labels, 5), inferred=F.one_hot(labels), n7=F.one_hot(labels[0], 7))
vals = torch.tensor([1, 2, 2, 5, 0, 2, 5])
wts = torch.tensor([0.5, 1.0, 2.0, 3.0, 0.25, -1.0, 1.5])
case("bincount", input=vals, weights=wts, plain=torch.bincount(vals), weighted_min8=torch.bincount(vals, wts, 8),
     plain_min3=torch.bincount(vals, minlength=3))

# ---- dtypes ------------------------------------------------------------------------------------------------------

a, b = randn(2, 3, 4, dtype=torch.float64) / 3, randn(4, 5, dtype=torch.float64) / 7  # not on a float32 grid
case("float64_ops", a=a, b=b, matmul=a @ b, sum=a.sum([1]), softmax=F.softmax(a, -1), exp=a.exp(),
     add_float32=a + b[0].to(torch.float32)[:4].reshape(4))
x64 = randn(1, 2, 5, 5, dtype=torch.float64) / 3
w64 = randn(3, 2, 3, 3, dtype=torch.float64) / 7
case("float64_conv2d", x=x64, w=w64, out=F.conv2d(x64, w64, padding=1))
xf = torch.randn(3, 7, generator=GEN) * 100  # full float32 precision: conversions have to round
xf[0, :6] = torch.tensor([0.1, -2.7, 65504.0, 70000.0, 1e-8, 3.3895e38])
case("float_conversions", x=xf, bf16=xf.to(torch.bfloat16), f16=xf.to(torch.float16),
     bf16_back=xf.to(torch.bfloat16).to(torch.float32), f16_back=xf.to(torch.float16).to(torch.float32),
     f64=xf.to(torch.float64), int64=xf[1:].to(torch.int64), bool=xf.round().to(torch.bool),
     int32=xf[1:].to(torch.int32))
xb = randn(3, 4).to(torch.bfloat16)
xh = randn(3, 4).to(torch.float16)
case("half_ops", bf=xb, h=xh, bf_add=xb + xb * 2, h_mul=xh * xh, bf_sum=xb.sum(), h_abs=xh.abs(),
     bf_to_h=xb.to(torch.float16))
xi = randint(-4, 5, 3, 4)
case("int_bool_conversions", x=xi, to_float=xi.to(torch.float32), to_bool=xi.to(torch.bool),
     bool_to_long=(xi > 0).to(torch.int64), bool_sum=(xi > 0).sum(), to_uint8=xi.abs().to(torch.uint8))

x = randn(2, 3, 6, 5)
w = randn(4, 3, 3, 3, scale=0.5)
bias = randn(4)
xcl = x.contiguous(memory_format=torch.channels_last)
wcl = w.contiguous(memory_format=torch.channels_last)
out_cl = F.conv2d(xcl, wcl, bias, padding=1)
assert torch.equal(out_cl, F.conv2d(x, w, bias, padding=1))
case("conv2d_channels_last", x=x, w=w, b=bias, out=F.conv2d(x, w, bias, padding=1),
     out_is_channels_last=out_cl.is_contiguous(memory_format=torch.channels_last))

fixture_io.write(os.path.normpath(OUT), cases)
print(f"{len(cases)} cases, {os.path.getsize(OUT)} bytes")
