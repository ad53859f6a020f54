namespace FastSeg.Torch.Interop;

/// <summary>
/// Every ATen operator the managed API calls, by schema name and overload. Handles resolve lazily on first use; a
/// test resolves all of them, so a name that this libtorch lacks fails there and not in a user's program.
/// </summary>
internal static class Aten
{
    // creation
    public static readonly AtenOp empty = new("aten::empty", "memory_format");
    public static readonly AtenOp zeros = new("aten::zeros");
    public static readonly AtenOp ones = new("aten::ones");
    public static readonly AtenOp full = new("aten::full");
    public static readonly AtenOp rand = new("aten::rand");
    public static readonly AtenOp randn = new("aten::randn");
    public static readonly AtenOp randint = new("aten::randint", "low");
    public static readonly AtenOp randperm = new("aten::randperm");
    public static readonly AtenOp arange = new("aten::arange", "start_step");
    public static readonly AtenOp linspace = new("aten::linspace");
    public static readonly AtenOp eye = new("aten::eye");
    public static readonly AtenOp zeros_like = new("aten::zeros_like");
    public static readonly AtenOp ones_like = new("aten::ones_like");
    public static readonly AtenOp full_like = new("aten::full_like");
    public static readonly AtenOp empty_like = new("aten::empty_like");
    public static readonly AtenOp rand_like = new("aten::rand_like");
    public static readonly AtenOp randn_like = new("aten::randn_like");

    // conversion and memory
    public static readonly AtenOp to = new("aten::to", "dtype_layout");
    public static readonly AtenOp contiguous = new("aten::contiguous");
    public static readonly AtenOp clone = new("aten::clone");
    public static readonly AtenOp detach = new("aten::detach");
    public static readonly AtenOp copy_ = new("aten::copy_");
    public static readonly AtenOp zero_ = new("aten::zero_");
    public static readonly AtenOp fill_ = new("aten::fill_", "Scalar");
    public static readonly AtenOp uniform_ = new("aten::uniform_");
    public static readonly AtenOp normal_ = new("aten::normal_");
    public static readonly AtenOp bernoulli_ = new("aten::bernoulli_", "float");

    // shape and indexing
    public static readonly AtenOp view = new("aten::view");
    public static readonly AtenOp reshape = new("aten::reshape");
    public static readonly AtenOp permute = new("aten::permute");
    public static readonly AtenOp transpose = new("aten::transpose", "int");
    public static readonly AtenOp squeeze = new("aten::squeeze");
    public static readonly AtenOp squeeze_dim = new("aten::squeeze", "dim");
    public static readonly AtenOp unsqueeze = new("aten::unsqueeze");
    public static readonly AtenOp expand = new("aten::expand");
    public static readonly AtenOp expand_as = new("aten::expand_as");
    public static readonly AtenOp flatten = new("aten::flatten", "using_ints");
    public static readonly AtenOp repeat = new("aten::repeat");
    public static readonly AtenOp flip = new("aten::flip");
    public static readonly AtenOp narrow = new("aten::narrow");
    public static readonly AtenOp slice = new("aten::slice", "Tensor");
    public static readonly AtenOp select = new("aten::select", "int");
    public static readonly AtenOp index_select = new("aten::index_select");
    public static readonly AtenOp index = new("aten::index", "Tensor");
    public static readonly AtenOp index_put_ = new("aten::index_put_");
    public static readonly AtenOp masked_fill = new("aten::masked_fill", "Scalar");
    public static readonly AtenOp masked_fill_ = new("aten::masked_fill_", "Scalar");
    public static readonly AtenOp masked_select = new("aten::masked_select");
    public static readonly AtenOp gather = new("aten::gather");
    public static readonly AtenOp nonzero = new("aten::nonzero");
    public static readonly AtenOp cat = new("aten::cat");
    public static readonly AtenOp stack = new("aten::stack");
    public static readonly AtenOp split = new("aten::split", "Tensor");
    public static readonly AtenOp split_with_sizes = new("aten::split_with_sizes");
    public static readonly AtenOp chunk = new("aten::chunk");
    public static readonly AtenOp unbind = new("aten::unbind", "int");

    // arithmetic
    public static readonly AtenOp add = new("aten::add", "Tensor");
    public static readonly AtenOp add_scalar = new("aten::add", "Scalar");
    public static readonly AtenOp add_ = new("aten::add_", "Tensor");
    public static readonly AtenOp add_scalar_ = new("aten::add_", "Scalar");
    public static readonly AtenOp sub = new("aten::sub", "Tensor");
    public static readonly AtenOp sub_scalar = new("aten::sub", "Scalar");
    public static readonly AtenOp sub_ = new("aten::sub_", "Tensor");
    public static readonly AtenOp rsub_scalar = new("aten::rsub", "Scalar");
    public static readonly AtenOp mul = new("aten::mul", "Tensor");
    public static readonly AtenOp mul_scalar = new("aten::mul", "Scalar");
    public static readonly AtenOp mul_ = new("aten::mul_", "Tensor");
    public static readonly AtenOp mul_scalar_ = new("aten::mul_", "Scalar");
    public static readonly AtenOp div = new("aten::div", "Tensor");
    public static readonly AtenOp div_mode = new("aten::div", "Tensor_mode");
    public static readonly AtenOp div_scalar = new("aten::div", "Scalar");
    public static readonly AtenOp div_ = new("aten::div_", "Tensor");
    public static readonly AtenOp div_scalar_ = new("aten::div_", "Scalar");
    public static readonly AtenOp remainder_scalar = new("aten::remainder", "Scalar");
    public static readonly AtenOp neg = new("aten::neg");
    public static readonly AtenOp addcmul_ = new("aten::addcmul_");
    public static readonly AtenOp addcdiv_ = new("aten::addcdiv_");
    public static readonly AtenOp lerp_ = new("aten::lerp_", "Scalar");
    public static readonly AtenOp matmul = new("aten::matmul");
    public static readonly AtenOp mm = new("aten::mm");
    public static readonly AtenOp bmm = new("aten::bmm");
    public static readonly AtenOp pow_scalar = new("aten::pow", "Tensor_Scalar");
    public static readonly AtenOp pow_tensor = new("aten::pow", "Tensor_Tensor");
    public static readonly AtenOp exp = new("aten::exp");
    public static readonly AtenOp sin = new("aten::sin");
    public static readonly AtenOp cos = new("aten::cos");
    public static readonly AtenOp log = new("aten::log");
    public static readonly AtenOp log1p = new("aten::log1p");
    public static readonly AtenOp sqrt = new("aten::sqrt");
    public static readonly AtenOp sqrt_ = new("aten::sqrt_");
    public static readonly AtenOp rsqrt = new("aten::rsqrt");
    public static readonly AtenOp abs = new("aten::abs");
    public static readonly AtenOp sign = new("aten::sign");
    public static readonly AtenOp floor = new("aten::floor");
    public static readonly AtenOp ceil = new("aten::ceil");
    public static readonly AtenOp round = new("aten::round");
    public static readonly AtenOp square = new("aten::square");
    public static readonly AtenOp maximum = new("aten::maximum");
    public static readonly AtenOp minimum = new("aten::minimum");
    public static readonly AtenOp clamp = new("aten::clamp");
    public static readonly AtenOp clamp_ = new("aten::clamp_");
    public static readonly AtenOp clamp_tensor = new("aten::clamp", "Tensor");
    public static readonly AtenOp clamp_min = new("aten::clamp_min");
    public static readonly AtenOp clamp_max = new("aten::clamp_max");
    public static readonly AtenOp where = new("aten::where", "self");
    public static readonly AtenOp where_scalar_other = new("aten::where", "ScalarOther");
    public static readonly AtenOp where_scalar_self = new("aten::where", "ScalarSelf");
    public static readonly AtenOp where_scalar = new("aten::where", "Scalar");

    // comparisons and logic
    public static readonly AtenOp eq = new("aten::eq", "Tensor");
    public static readonly AtenOp eq_scalar = new("aten::eq", "Scalar");
    public static readonly AtenOp ne = new("aten::ne", "Tensor");
    public static readonly AtenOp ne_scalar = new("aten::ne", "Scalar");
    public static readonly AtenOp lt = new("aten::lt", "Tensor");
    public static readonly AtenOp lt_scalar = new("aten::lt", "Scalar");
    public static readonly AtenOp le = new("aten::le", "Tensor");
    public static readonly AtenOp le_scalar = new("aten::le", "Scalar");
    public static readonly AtenOp gt = new("aten::gt", "Tensor");
    public static readonly AtenOp gt_scalar = new("aten::gt", "Scalar");
    public static readonly AtenOp ge = new("aten::ge", "Tensor");
    public static readonly AtenOp ge_scalar = new("aten::ge", "Scalar");
    public static readonly AtenOp logical_and = new("aten::logical_and");
    public static readonly AtenOp logical_or = new("aten::logical_or");
    public static readonly AtenOp logical_not = new("aten::logical_not");
    public static readonly AtenOp isnan = new("aten::isnan");
    public static readonly AtenOp allclose = new("aten::allclose");
    public static readonly AtenOp equal = new("aten::equal");

    // reductions
    public static readonly AtenOp sum = new("aten::sum");
    public static readonly AtenOp sum_dim = new("aten::sum", "dim_IntList");
    public static readonly AtenOp mean = new("aten::mean");
    public static readonly AtenOp mean_dim = new("aten::mean", "dim");
    public static readonly AtenOp max = new("aten::max");
    public static readonly AtenOp max_dim = new("aten::max", "dim");
    public static readonly AtenOp min = new("aten::min");
    public static readonly AtenOp min_dim = new("aten::min", "dim");
    public static readonly AtenOp amax = new("aten::amax");
    public static readonly AtenOp amin = new("aten::amin");
    public static readonly AtenOp argmax = new("aten::argmax");
    public static readonly AtenOp argmin = new("aten::argmin");
    public static readonly AtenOp topk = new("aten::topk");
    public static readonly AtenOp sort = new("aten::sort");
    public static readonly AtenOp argsort = new("aten::argsort");
    public static readonly AtenOp cumsum = new("aten::cumsum");
    public static readonly AtenOp prod = new("aten::prod");
    public static readonly AtenOp any = new("aten::any");
    public static readonly AtenOp all = new("aten::all");
    public static readonly AtenOp norm = new("aten::linalg_vector_norm");
    public static readonly AtenOp var = new("aten::var", "correction");
    public static readonly AtenOp std = new("aten::std", "correction");
    public static readonly AtenOp logsumexp = new("aten::logsumexp");

    // neural-network functions
    public static readonly AtenOp conv2d = new("aten::conv2d");
    public static readonly AtenOp conv2d_padding = new("aten::conv2d", "padding");
    public static readonly AtenOp conv_transpose2d = new("aten::conv_transpose2d", "input");
    public static readonly AtenOp batch_norm = new("aten::batch_norm");
    public static readonly AtenOp layer_norm = new("aten::layer_norm");
    public static readonly AtenOp group_norm = new("aten::group_norm");
    public static readonly AtenOp linear = new("aten::linear");
    public static readonly AtenOp max_pool2d = new("aten::max_pool2d");
    public static readonly AtenOp max_pool2d_with_indices = new("aten::max_pool2d_with_indices");
    public static readonly AtenOp max_unpool2d = new("aten::max_unpool2d");
    public static readonly AtenOp avg_pool2d = new("aten::avg_pool2d");
    public static readonly AtenOp adaptive_avg_pool2d = new("aten::adaptive_avg_pool2d");
    public static readonly AtenOp adaptive_max_pool2d = new("aten::adaptive_max_pool2d");
    public static readonly AtenOp upsample_nearest2d = new("aten::upsample_nearest2d", "vec");
    public static readonly AtenOp upsample_bilinear2d = new("aten::upsample_bilinear2d", "vec");
    public static readonly AtenOp upsample_bicubic2d = new("aten::upsample_bicubic2d", "vec");
    public static readonly AtenOp pixel_shuffle = new("aten::pixel_shuffle");
    public static readonly AtenOp pixel_unshuffle = new("aten::pixel_unshuffle");
    public static readonly AtenOp channel_shuffle = new("aten::channel_shuffle");
    public static readonly AtenOp pad = new("aten::pad");
    public static readonly AtenOp dropout = new("aten::dropout");
    public static readonly AtenOp feature_dropout = new("aten::feature_dropout");
    public static readonly AtenOp relu = new("aten::relu");
    public static readonly AtenOp relu_ = new("aten::relu_");
    public static readonly AtenOp relu6 = new("aten::relu6");
    public static readonly AtenOp hardtanh = new("aten::hardtanh");
    public static readonly AtenOp leaky_relu = new("aten::leaky_relu");
    public static readonly AtenOp prelu = new("aten::prelu");
    public static readonly AtenOp elu = new("aten::elu");
    public static readonly AtenOp selu = new("aten::selu");
    public static readonly AtenOp gelu = new("aten::gelu");
    public static readonly AtenOp silu = new("aten::silu");
    public static readonly AtenOp hardswish = new("aten::hardswish");
    public static readonly AtenOp hardsigmoid = new("aten::hardsigmoid");
    public static readonly AtenOp sigmoid = new("aten::sigmoid");
    public static readonly AtenOp tanh = new("aten::tanh");
    public static readonly AtenOp softmax = new("aten::softmax", "int");
    public static readonly AtenOp log_softmax = new("aten::log_softmax", "int");
    public static readonly AtenOp cross_entropy = new("aten::cross_entropy_loss");
    public static readonly AtenOp nll_loss = new("aten::nll_loss_nd");
    public static readonly AtenOp kl_div = new("aten::kl_div");
    public static readonly AtenOp mse_loss = new("aten::mse_loss");
    public static readonly AtenOp l1_loss = new("aten::l1_loss");
    public static readonly AtenOp bce_with_logits = new("aten::binary_cross_entropy_with_logits");
    public static readonly AtenOp bce = new("aten::binary_cross_entropy");
    public static readonly AtenOp one_hot = new("aten::one_hot");
    public static readonly AtenOp bincount = new("aten::bincount");
}
