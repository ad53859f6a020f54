using static FastSeg.Torch.torch;
namespace FastSeg.Export;

/// <summary>
/// The one place that says how each ATen operator becomes ONNX (opset 15–17 semantics). Keys are the schema's name and
/// overload as the dispatch path calls them; argument positions are the schema's (libtorch 1.13). An operator that is
/// not here stops the export with an <see cref="OnnxExportException"/> naming it and the calling module.
/// </summary>
internal static class AtenToOnnx
{
    private const long Int64Max = long.MaxValue;

    public static readonly IReadOnlyDictionary<string, Action<OnnxOpContext>> Table = Build();

    private static Dictionary<string, Action<OnnxOpContext>> Build()
    {
        var t = new Dictionary<string, Action<OnnxOpContext>>(StringComparer.Ordinal);

        // ---- convolution, normalization, linear ----------------------------------------------------------------
        // conv2d(input, weight, bias?, stride=1, padding=0, dilation=1, groups=1)
        t["aten::conv2d"] = c => Conv(c, c.Ints(4, [0, 0], 2));
        // conv2d.padding(input, weight, bias?, stride=1, str padding="valid", dilation=1, groups=1)
        t["aten::conv2d.padding"] = c =>
        {
            var k = c.Shape(1)[2..];
            var d = c.Ints(5, [1, 1], 2);
            if (c.String(4, "valid") == "valid") { Conv(c, [0, 0]); return; }
            if (c.Ints(3, [1, 1], 2).Any(s => s != 1)) throw c.Unsupported("padding='same' with a stride other than 1");
            Conv(c, [d[0] * (k[0] - 1), d[1] * (k[1] - 1)], same: true);
        };
        // conv_transpose2d.input(input, weight, bias?, stride=1, padding=0, output_padding=0, groups=1, dilation=1)
        t["aten::conv_transpose2d.input"] = c =>
        {
            var p = c.Ints(4, [0, 0], 2);
            c.Emit("ConvTranspose", WithOptional(c, 2, c.In(0), c.In(1)),
                ("kernel_shape", c.Shape(1)[2..]), ("strides", c.Ints(3, [1, 1], 2)), ("pads", new[] { p[0], p[1], p[0], p[1] }),
                ("output_padding", c.Ints(5, [0, 0], 2)), ("group", c.Int(6, 1)), ("dilations", c.Ints(7, [1, 1], 2)));
        };
        // batch_norm(input, weight?, bias?, running_mean?, running_var?, training, momentum, eps, cudnn_enabled)
        t["aten::batch_norm"] = c =>
        {
            if (c.Bool(5, false)) throw c.Unsupported("batch statistics (training=True); export runs the network in eval mode");
            if (c.IsNone(3) || c.IsNone(4)) throw c.Unsupported("a BatchNorm without running statistics");
            long channels = c.Shape(0)[1];
            c.Emit("BatchNormalization",
                [c.In(0), c.IsNone(1) ? Filled(c, 1, channels) : c.In(1), c.IsNone(2) ? Filled(c, 0, channels) : c.In(2), c.In(3), c.In(4)],
                ("epsilon", c.Double(7, 1e-5)));
        };
        // group_norm(input, num_groups, weight?, bias?, eps=1e-5, cudnn_enabled): normalize (N, G, -1) groups, then affine
        t["aten::group_norm"] = c =>
        {
            var shape = c.Shape(0);
            long groups = c.Int(1, 1);
            var grouped = c.Node("Reshape", [c.In(0), c.Ints64(0, groups, -1)]);
            var mean = c.Node("ReduceMean", [grouped], ("axes", new[] { 2L }), ("keepdims", 1L));
            var centred = c.Node("Sub", [grouped, mean]);
            var variance = c.Node("ReduceMean", [c.Node("Mul", [centred, centred])], ("axes", new[] { 2L }), ("keepdims", 1L));
            var std = c.Node("Sqrt", [c.Node("Add", [variance, c.Scalar(c.Double(4, 1e-5))])]);
            var normalized = c.Node("Reshape", [c.Node("Div", [centred, std]), c.Node("Shape", [c.In(0)])]);
            var affineShape = new long[] { shape[1] }.Concat(Enumerable.Repeat(1L, shape.Length - 2)).ToArray();
            if (!c.IsNone(2)) normalized = c.Node("Mul", [normalized, c.Builder.ConstReshaped(c.Tensor(2), affineShape)]);
            if (!c.IsNone(3)) normalized = c.Node("Add", [normalized, c.Builder.ConstReshaped(c.Tensor(3), affineShape)]);
            c.Emit("Identity", [normalized]);
        };
        // layer_norm(input, normalized_shape, weight?, bias?, eps=1e-5, cudnn_enable)
        t["aten::layer_norm"] = c =>
        {
            if (c.Builder.Options.Opset < 17) throw c.Unsupported("LayerNormalization needs opset 17");
            long axis = c.Rank(0) - c.Ints(1, []).Length;
            long size = c.Ints(1, []).Aggregate(1L, (a, b) => a * b);
            c.Emit("LayerNormalization",
                [c.In(0), c.IsNone(2) ? Filled(c, 1, size) : c.In(2), c.IsNone(3) ? Filled(c, 0, size) : c.In(3)],
                ("axis", axis), ("epsilon", c.Double(4, 1e-5)));
        };
        // linear(input, weight, bias?) = input @ weight^T + bias
        t["aten::linear"] = c =>
        {
            var product = c.Node("MatMul", [c.In(0), c.Node("Transpose", [c.In(1)], ("perm", new[] { 1L, 0L }))]);
            c.Emit(c.IsNone(2) ? "Identity" : "Add", c.IsNone(2) ? [product] : [product, c.In(2)]);
        };

        // ---- pooling and resampling -----------------------------------------------------------------------------
        // max_pool2d(self, kernel_size, stride=[], padding=0, dilation=1, ceil_mode=False)
        t["aten::max_pool2d"] = c => c.Node("MaxPool", [c.In(0)], [c.Out()], MaxPoolAttributes(c));
        t["aten::max_pool2d_with_indices"] = c =>
            // ONNX indices count over the whole tensor, PyTorch's per plane; they only ever feed max_unpool2d below,
            // which reads ONNX's form, so the pair stays consistent.
            c.Node("MaxPool", [c.In(0)], [c.Out(0), c.Out(1)], MaxPoolAttributes(c));
        // max_unpool2d(self, indices, output_size)
        t["aten::max_unpool2d"] = c =>
        {
            var input = c.Shape(0);
            var size = c.Ints(2, []);
            long[] stride = [size[0] / input[2], size[1] / input[3]];
            string outputShape = SpatialSizes(c, c.In(0), size[0], size[1]);
            c.Emit("MaxUnpool", [c.In(0), c.In(1), outputShape], ("kernel_shape", stride), ("strides", stride));
        };
        // avg_pool2d(self, kernel_size, stride=[], padding=0, ceil_mode=False, count_include_pad=True, divisor_override?)
        t["aten::avg_pool2d"] = c =>
        {
            if (!c.IsNone(6)) throw c.Unsupported("divisor_override");
            var kernel = c.Ints(1, [], 2);
            var stride = c.Ints(2, [], 2);
            var p = c.Ints(3, [0, 0], 2);
            c.Emit("AveragePool", [c.In(0)], ("kernel_shape", kernel), ("strides", stride.Length == 0 ? kernel : stride),
                ("pads", new[] { p[0], p[1], p[0], p[1] }), ("ceil_mode", c.Int(4, 0)), ("count_include_pad", c.Int(5, 1)));
        };
        // adaptive_avg_pool2d(self, output_size): global pooling, or exact bins when the size divides evenly
        t["aten::adaptive_avg_pool2d"] = c => AdaptivePool(c, "GlobalAveragePool", "AveragePool");
        t["aten::adaptive_max_pool2d"] = c =>
        {
            if (c.Op.Results.Count > 1 && c.Op.Results[1].Kind == Torch.Tracing.RecordedArgumentKind.Tensor)
                c.Builder.Bind(c.Result(1), "unused_indices");
            AdaptivePool(c, "GlobalMaxPool", "MaxPool");
        };
        // upsample_bilinear2d.vec(input, output_size?, align_corners, scale_factors?)
        t["aten::upsample_bilinear2d.vec"] = c =>
            Resize(c, c.Ints(1, []), c.Doubles(3), ("mode", "linear"),
                ("coordinate_transformation_mode", c.Bool(2, false) ? "align_corners" : "half_pixel"));
        // upsample_bicubic2d.vec(input, output_size?, align_corners, scale_factors?): PyTorch's A = -0.75, no clamping
        t["aten::upsample_bicubic2d.vec"] = c =>
            Resize(c, c.Ints(1, []), c.Doubles(3), ("mode", "cubic"), ("cubic_coeff_a", -0.75f),
                ("coordinate_transformation_mode", c.Bool(2, false) ? "align_corners" : "half_pixel"));
        // upsample_nearest2d.vec(input, output_size?, scale_factors?): source index floor(dst * in / out)
        t["aten::upsample_nearest2d.vec"] = c =>
            Resize(c, c.Ints(1, []), c.Doubles(2), ("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor"));
        // pixel_shuffle(self, upscale_factor): PyTorch's channel order is DepthToSpace's CRD mode
        t["aten::pixel_shuffle"] = c => c.Emit("DepthToSpace", [c.In(0)], ("blocksize", c.Int(1, 1)), ("mode", "CRD"));
        // channel_shuffle(self, groups): (N, g, C/g, H, W) -> swap the group axes -> (N, C, H, W)
        t["aten::channel_shuffle"] = c =>
        {
            long groups = c.Int(1, 1), channels = c.Shape(0)[1];
            var split = c.Node("Reshape", [c.In(0), c.Ints64(0, groups, channels / groups, -1)]);
            var swapped = c.Node("Transpose", [split], ("perm", new[] { 0L, 2L, 1L, 3L }));
            c.Emit("Reshape", [swapped, c.Node("Shape", [c.In(0)])]);
        };
        // pad(self, pad, mode="constant", value?): PyTorch lists (begin, end) pairs from the last dimension backwards
        t["aten::pad"] = c =>
        {
            var pad = c.Ints(1, []);
            int rank = c.Rank(0);
            var pads = new long[2 * rank];
            for (int k = 0; k < pad.Length / 2; k++)
            {
                pads[rank - 1 - k] = pad[2 * k];
                pads[2 * rank - 1 - k] = pad[2 * k + 1];
            }
            string mode = c.String(2, "constant") switch
            {
                "constant" => "constant", "reflect" => "reflect", "replicate" => "edge",
                var m => throw c.Unsupported($"padding mode '{m}'"),
            };
            c.Emit("Pad", mode == "constant" ? [c.In(0), c.Ints64(pads), c.ScalarArg(3)] : [c.In(0), c.Ints64(pads)], ("mode", mode));
        };
        t["aten::constant_pad_nd"] = c =>
        {
            var pad = c.Ints(1, []);
            int rank = c.Rank(0);
            var pads = new long[2 * rank];
            for (int k = 0; k < pad.Length / 2; k++) { pads[rank - 1 - k] = pad[2 * k]; pads[2 * rank - 1 - k] = pad[2 * k + 1]; }
            c.Emit("Pad", [c.In(0), c.Ints64(pads), c.ScalarArg(2)], ("mode", "constant"));
        };

        // ---- activations --------------------------------------------------------------------------------------
        foreach (var name in new[] { "relu", "relu_" }) t["aten::" + name] = c => c.Emit("Relu", [c.In(0)]);
        foreach (var name in new[] { "sigmoid", "sigmoid_" }) t["aten::" + name] = c => c.Emit("Sigmoid", [c.In(0)]);
        foreach (var name in new[] { "tanh", "tanh_" }) t["aten::" + name] = c => c.Emit("Tanh", [c.In(0)]);
        t["aten::relu6"] = c => c.Emit("Clip", [c.In(0), c.Scalar(0), c.Scalar(6)]);
        foreach (var name in new[] { "hardtanh", "hardtanh_" })
            t["aten::" + name] = c => c.Emit("Clip", [c.In(0), c.ScalarArg(1, -1), c.ScalarArg(2, 1)]);
        foreach (var name in new[] { "leaky_relu", "leaky_relu_" })
            t["aten::" + name] = c => c.Emit("LeakyRelu", [c.In(0)], ("alpha", c.Double(1, 0.01)));
        // prelu(self, weight): ONNX broadcasts the slope from the right, so a per-channel slope becomes (C, 1, 1)
        t["aten::prelu"] = c =>
        {
            var w = c.Tensor(1);
            var slope = w.numel() == 1 || c.Rank(0) < 3
                ? c.In(1)
                : c.Builder.ConstReshaped(w, new long[] { w.numel() }.Concat(Enumerable.Repeat(1L, c.Rank(0) - 2)).ToArray());
            c.Emit("PRelu", [c.In(0), slope]);
        };
        foreach (var name in new[] { "elu", "elu_" })
            t["aten::" + name] = c =>
            {
                if (c.Double(2, 1) != 1 || c.Double(3, 1) != 1) throw c.Unsupported("scale or input_scale other than 1");
                c.Emit("Elu", [c.In(0)], ("alpha", c.Double(1, 1)));
            };
        // selu(self): ONNX Selu's default alpha and gamma are PyTorch's constants
        foreach (var name in new[] { "selu", "selu_" }) t["aten::" + name] = c => c.Emit("Selu", [c.In(0)]);
        // gelu(self, approximate="none") = x/2 * (1 + erf(x / sqrt 2)) (opset 17 has no Gelu)
        t["aten::gelu"] = c =>
        {
            if (c.String(1, "none") != "none") throw c.Unsupported("approximate='tanh'");
            var erf = c.Node("Erf", [c.Node("Mul", [c.In(0), c.Scalar(1 / Math.Sqrt(2))])]);
            c.Emit("Mul", [c.Node("Mul", [c.In(0), c.Scalar(0.5)]), c.Node("Add", [erf, c.Scalar(1)])]);
        };
        foreach (var name in new[] { "silu", "silu_" }) t["aten::" + name] = c => c.Emit("Mul", [c.In(0), c.Node("Sigmoid", [c.In(0)])]);
        foreach (var name in new[] { "hardswish", "hardswish_" }) t["aten::" + name] = c => c.Emit("HardSwish", [c.In(0)]);
        foreach (var name in new[] { "hardsigmoid", "hardsigmoid_" })
            t["aten::" + name] = c => c.Emit("HardSigmoid", [c.In(0)], ("alpha", 1.0 / 6), ("beta", 0.5));
        t["aten::softmax.int"] = c => c.Emit("Softmax", [c.In(0)], ("axis", c.Int(1, -1)));
        t["aten::log_softmax.int"] = c => c.Emit("LogSoftmax", [c.In(0)], ("axis", c.Int(1, -1)));
        // dropout and its relatives run with train=False in eval mode: identity
        foreach (var name in new[] { "dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout" })
            t["aten::" + name] = c =>
            {
                if (c.Bool(2, false)) throw c.Unsupported("dropout in training mode");
                c.Emit("Identity", [c.In(0)]);
            };

        // ---- arithmetic -----------------------------------------------------------------------------------------
        foreach (var (aten, onnx) in new[] { ("add", "Add"), ("sub", "Sub") })
            foreach (var suffix in new[] { "", "_" })
            {
                t[$"aten::{aten}{suffix}.Tensor"] = c => c.Emit(onnx, [c.In(0), Scaled(c, c.In(1), c.Double(2, 1))]);
                t[$"aten::{aten}{suffix}.Scalar"] = c => c.Emit(onnx, [c.In(0), c.Scalar(c.Double(1, 0) * c.Double(2, 1))]);
            }
        t["aten::rsub.Scalar"] = c => c.Emit("Sub", [c.ScalarArg(1), Scaled(c, c.In(0), c.Double(2, 1))]);
        t["aten::rsub.Tensor"] = c => c.Emit("Sub", [c.In(1), Scaled(c, c.In(0), c.Double(2, 1))]);
        foreach (var (aten, onnx) in new[] { ("mul", "Mul"), ("div", "Div") })
            foreach (var suffix in new[] { "", "_" })
            {
                t[$"aten::{aten}{suffix}.Tensor"] = c => c.Emit(onnx, [c.In(0), c.In(1)]);
                t[$"aten::{aten}{suffix}.Scalar"] = c => c.Emit(onnx, [c.In(0), c.ScalarArg(1)]);
            }
        t["aten::maximum"] = c => c.Emit("Max", [c.In(0), c.In(1)]);
        t["aten::minimum"] = c => c.Emit("Min", [c.In(0), c.In(1)]);
        t["aten::neg"] = c => c.Emit("Neg", [c.In(0)]);
        t["aten::exp"] = c => c.Emit("Exp", [c.In(0)]);
        t["aten::log"] = c => c.Emit("Log", [c.In(0)]);
        t["aten::sqrt"] = c => c.Emit("Sqrt", [c.In(0)]);
        t["aten::abs"] = c => c.Emit("Abs", [c.In(0)]);
        t["aten::pow.Tensor_Scalar"] = c => c.Emit("Pow", [c.In(0), c.ScalarArg(1)]);
        t["aten::matmul"] = c => c.Emit("MatMul", [c.In(0), c.In(1)]);
        t["aten::bmm"] = c => c.Emit("MatMul", [c.In(0), c.In(1)]);
        t["aten::mm"] = c => c.Emit("MatMul", [c.In(0), c.In(1)]);
        // clamp(self, min?, max?): an absent bound is an empty input of Clip
        foreach (var name in new[] { "clamp", "clamp_" })
            t["aten::" + name] = c => c.Emit("Clip", [c.In(0), c.IsNone(1) ? "" : c.ScalarArg(1), c.IsNone(2) ? "" : c.ScalarArg(2)]);
        t["aten::clamp_min"] = c => c.Emit("Clip", [c.In(0), c.ScalarArg(1)]);
        t["aten::clamp_max"] = c => c.Emit("Clip", [c.In(0), "", c.ScalarArg(1)]);

        // ---- reductions -------------------------------------------------------------------------------------------
        // mean.dim(self, dim?, keepdim=False, dtype?)
        t["aten::mean.dim"] = c => c.Emit("ReduceMean", [c.In(0)], ("axes", Axes(c, 1)), ("keepdims", c.Int(2, 0)));
        t["aten::sum.dim_IntList"] = c => c.Emit("ReduceSum", [c.In(0), c.Ints64(Axes(c, 1))], ("keepdims", c.Int(2, 0)));
        t["aten::amax"] = c => c.Emit("ReduceMax", [c.In(0)], ("axes", Axes(c, 1)), ("keepdims", c.Int(2, 0)));
        // max.dim(self, dim, keepdim=False) -> (values, indices)
        t["aten::max.dim"] = c =>
        {
            long axis = c.Int(1, 0), keep = c.Int(2, 0);
            c.Node("ReduceMax", [c.In(0)], [c.Out(0)], ("axes", new[] { axis }), ("keepdims", keep));
            c.Node("ArgMax", [c.In(0)], [c.Out(1)], ("axis", axis), ("keepdims", keep));
        };
        // linalg_vector_norm(self, ord=2, dim?, keepdim=False, dtype?)
        t["aten::linalg_vector_norm"] = c =>
        {
            if (c.Double(1, 2) != 2) throw c.Unsupported("a norm other than the 2-norm");
            c.Emit("ReduceL2", [c.In(0)], ("axes", Axes(c, 2)), ("keepdims", c.Int(3, 0)));
        };

        // ---- shapes -------------------------------------------------------------------------------------------------
        t["aten::view"] = c => Reshape(c, c.Ints(1, []));
        t["aten::reshape"] = c => Reshape(c, c.Ints(1, []));
        // flatten.using_ints(self, start_dim=0, end_dim=-1)
        t["aten::flatten.using_ints"] = c =>
        {
            int rank = c.Rank(0);
            long start = OnnxOpContext.Axis(c.Int(1, 0), rank), end = OnnxOpContext.Axis(c.Int(2, -1), rank);
            var target = new List<long>();
            for (long k = 0; k < start; k++) target.Add(0);
            target.Add(-1);
            for (long k = end + 1; k < rank; k++) target.Add(c.Shape(0)[k]);
            c.Emit("Reshape", [c.In(0), c.Ints64(target.ToArray())]);
        };
        t["aten::permute"] = c => c.Emit("Transpose", [c.In(0)], ("perm", c.Ints(1, []).Select(d => OnnxOpContext.Axis(d, c.Rank(0))).ToArray()));
        t["aten::transpose.int"] = c =>
        {
            int rank = c.Rank(0);
            var perm = Enumerable.Range(0, rank).Select(k => (long)k).ToArray();
            long a = OnnxOpContext.Axis(c.Int(1, 0), rank), b = OnnxOpContext.Axis(c.Int(2, 0), rank);
            (perm[a], perm[b]) = (perm[b], perm[a]);
            c.Emit("Transpose", [c.In(0)], ("perm", perm));
        };
        t["aten::unsqueeze"] = c => c.Emit("Unsqueeze", [c.In(0), c.Ints64(OnnxOpContext.Axis(c.Int(1, 0), c.Rank(0) + 1))]);
        t["aten::squeeze.dim"] = c =>
        {
            long axis = OnnxOpContext.Axis(c.Int(1, 0), c.Rank(0));
            c.Emit(c.Shape(0)[axis] == 1 ? "Squeeze" : "Identity", c.Shape(0)[axis] == 1 ? [c.In(0), c.Ints64(axis)] : [c.In(0)]);
        };
        t["aten::squeeze"] = c =>
        {
            var axes = c.Shape(0).Select((d, k) => (d, k: (long)k)).Where(x => x.d == 1).Select(x => x.k).ToArray();
            c.Emit(axes.Length > 0 ? "Squeeze" : "Identity", axes.Length > 0 ? [c.In(0), c.Ints64(axes)] : [c.In(0)]);
        };
        // expand(self, size, implicit): -1 keeps a dimension, which broadcasting against 1 does too
        t["aten::expand"] = c => c.Emit("Expand", [c.In(0), c.Ints64(c.Ints(1, []).Select(d => d < 0 ? 1 : d).ToArray())]);
        t["aten::expand_as"] = c => c.Emit("Expand", [c.In(0), c.Node("Shape", [c.In(1)])]);
        foreach (var name in new[] { "contiguous", "clone", "detach", "alias" })
            t["aten::" + name] = c => c.Emit("Identity", [c.In(0)]);
        // to.dtype_layout(self, dtype?, ...): a float32 graph converts nothing
        t["aten::to.dtype_layout"] = c =>
        {
            if (c.OptionalInt(1) is long dtype && dtype != (long)ScalarType.Float32) throw c.Unsupported($"conversion to dtype {(ScalarType)dtype}");
            c.Emit("Identity", [c.In(0)]);
        };
        t["aten::cat"] = c => c.Emit("Concat", c.InList(0), ("axis", OnnxOpContext.Axis(c.Int(1, 0), c.TensorList(0)[0]!.shape.Length)));
        t["aten::stack"] = c =>
        {
            long axis = OnnxOpContext.Axis(c.Int(1, 0), c.TensorList(0)[0]!.shape.Length + 1);
            c.Emit("Concat", c.InList(0).Select(v => c.Node("Unsqueeze", [v, c.Ints64(axis)])).ToArray(), ("axis", axis));
        };
        // narrow(self, dim, start, length); slice.Tensor(self, dim=0, start?, end?, step=1); select.int(self, dim, index)
        t["aten::narrow"] = c =>
        {
            long axis = OnnxOpContext.Axis(c.Int(1, 0), c.Rank(0)), start = c.Int(2, 0), length = c.Int(3, 0);
            Slice(c, axis, start, start + length, 1);
        };
        t["aten::slice.Tensor"] = c =>
        {
            long axis = OnnxOpContext.Axis(c.Int(1, 0), c.Rank(0));
            Slice(c, axis, c.OptionalInt(2) ?? 0, c.OptionalInt(3) ?? Int64Max, c.Int(4, 1));
        };
        t["aten::select.int"] = c =>
            c.Emit("Gather", [c.In(0), c.Builder.ConstInt64Scalar(c.Int(2, 0))], ("axis", OnnxOpContext.Axis(c.Int(1, 0), c.Rank(0))));
        // split.Tensor(self, split_size, dim=0), split_with_sizes(self, split_sizes, dim=0), chunk(self, chunks, dim=0)
        foreach (var name in new[] { "split.Tensor", "split_with_sizes", "chunk" })
            t["aten::" + name] = c =>
            {
                var results = c.Op.Results[0].Tensors;
                long axis = OnnxOpContext.Axis(c.Int(2, 0), c.Rank(0));
                var sizes = results.Select(r => r!.shape[axis]).ToArray();
                c.Node("Split", [c.In(0), c.Ints64(sizes)], c.OutList(0), ("axis", axis));
            };
        return t;
    }

    private static void Conv(OnnxOpContext c, long[] padding, bool same = false)
    {
        long[] pads = same
            ? [padding[0] / 2, padding[1] / 2, padding[0] - padding[0] / 2, padding[1] - padding[1] / 2]
            : [padding[0], padding[1], padding[0], padding[1]];
        c.Emit("Conv", WithOptional(c, 2, c.In(0), c.In(1)),
            ("kernel_shape", c.Shape(1)[2..]), ("strides", c.Ints(3, [1, 1], 2)), ("pads", pads),
            ("dilations", c.Ints(5, [1, 1], 2)), ("group", c.Int(6, 1)));
    }

    private static string[] WithOptional(OnnxOpContext c, int index, params string[] inputs) =>
        c.IsNone(index) ? inputs : [.. inputs, c.In(index)];

    private static string Filled(OnnxOpContext c, float value, long count) =>
        c.Builder.ConstFloat(Enumerable.Repeat(value, checked((int)count)).ToArray(), count);

    private static string Scaled(OnnxOpContext c, string value, double alpha) =>
        alpha == 1 ? value : c.Node("Mul", [value, c.Scalar(alpha)]);

    private static long[] Axes(OnnxOpContext c, int index)
    {
        var dims = c.Ints(index, []);
        return dims.Length == 0
            ? Enumerable.Range(0, c.Rank(0)).Select(k => (long)k).ToArray()
            : dims.Select(d => OnnxOpContext.Axis(d, c.Rank(0))).ToArray();
    }

    private static (string, object)[] MaxPoolAttributes(OnnxOpContext c)
    {
        var kernel = c.Ints(1, [], 2);
        var stride = c.Ints(2, [], 2);
        var p = c.Ints(3, [0, 0], 2);
        return [("kernel_shape", kernel), ("strides", stride.Length == 0 ? kernel : stride), ("pads", new[] { p[0], p[1], p[0], p[1] }),
                ("dilations", c.Ints(4, [1, 1], 2)), ("ceil_mode", c.Int(5, 0))];
    }

    private static void AdaptivePool(OnnxOpContext c, string global, string windowed)
    {
        var input = c.Shape(0);
        var size = c.Ints(1, [], 2);
        if (size.All(s => s == 1)) { c.Emit(global, [c.In(0)]); return; }
        if (c.Dynamic)
            throw c.Unsupported($"adaptive pooling to {size[0]}x{size[1]} bins depends on the input size, so it cannot be exported with dynamic height and width");
        if (input[2] % size[0] == 0 && input[3] % size[1] == 0)
        {
            long[] kernel = [input[2] / size[0], input[3] / size[1]];
            c.Emit(windowed, [c.In(0)], ("kernel_shape", kernel), ("strides", kernel));
            return;
        }
        // Uneven bins: PyTorch's bin (i, j) covers rows floor(i*H/h) .. ceil((i+1)*H/h) and the same for columns.
        string reduce = global == "GlobalAveragePool" ? "ReduceMean" : "ReduceMax";
        var rows = new string[size[0]];
        for (long i = 0; i < size[0]; i++)
        {
            var cells = new string[size[1]];
            for (long j = 0; j < size[1]; j++)
            {
                long r0 = i * input[2] / size[0], r1 = ((i + 1) * input[2] + size[0] - 1) / size[0];
                long c0 = j * input[3] / size[1], c1 = ((j + 1) * input[3] + size[1] - 1) / size[1];
                var window = c.Node("Slice", [c.In(0), c.Ints64(r0, c0), c.Ints64(r1, c1), c.Ints64(2, 3)]);
                cells[j] = c.Node(reduce, [window], ("axes", new[] { 2L, 3L }), ("keepdims", 1L));
            }
            rows[i] = c.Node("Concat", cells, ("axis", 3L));
        }
        c.Emit("Concat", rows, ("axis", 2L));
    }

    // Resize to an explicit size or by scale factors. With dynamic sizes an explicit size is read at run time from the
    // value that had that spatial size when the network was recorded (the input, or the feature map it was taken from).
    private static void Resize(OnnxOpContext c, long[] size, double[]? scales, params (string, object)[] attributes)
    {
        if (size.Length == 2)
        {
            var sizes = SpatialSizes(c, c.In(0), size[0], size[1]);
            c.Emit("Resize", [c.In(0), "", "", sizes], attributes);
        }
        else if (scales is { Length: 2 })
            c.Emit("Resize", [c.In(0), "", c.Builder.ConstFloat([1f, 1f, (float)scales[0], (float)scales[1]], 4)], attributes);
        else throw c.Unsupported("neither an output size nor scale factors");
    }

    private static string SpatialSizes(OnnxOpContext c, string value, long height, long width)
    {
        var shape = c.Shape(0);
        if (c.Dynamic && c.Builder.SpatialSource(height, width) is { } source) return c.SizesFrom(value, source);
        return c.Ints64(shape[0], shape[1], height, width);
    }

    // view/reshape: a fixed target, except with dynamic sizes, where the result must follow the input's height and
    // width: a target that ends with the input's (H, W) takes them from the input's run-time shape (channel shuffles);
    // otherwise leading batch/channel sizes equal to the input's are copied (0), a single remaining dimension becomes
    // -1, and several are each the graph input's height or width divided by the factor that gave them at recording.
    private static void Reshape(OnnxOpContext c, long[] target)
    {
        var input = c.Shape(0);
        var resolved = target.ToArray();
        if (c.Dynamic && input.Length == 4 && target.Length >= 3 && target[^2] == input[2] && target[^1] == input[3])
        {
            var head = target[..^2].Select((d, k) => k == 0 && d == input[0] ? 0 : d).ToArray();
            c.Emit("Reshape", [c.In(0), c.Node("Concat", [c.Ints64(head), c.Node("Shape", [c.In(0)], ("start", 2L), ("end", 4L))], ("axis", 0L))]);
            return;
        }
        if (c.Dynamic && !target.Contains(-1))
        {
            int keep = 0;
            while (keep < Math.Min(2, Math.Min(input.Length, target.Length)) && target[keep] == input[keep]) keep++;
            var spatial = Enumerable.Range(keep, target.Length - keep).Where(k => k >= 2 || target.Length <= 2).ToArray();
            if (spatial.Length == 1) resolved[spatial[0]] = -1;
            else if (spatial.Length == 2)
            {
                // height first, then width, as a (N, C, H, W) map is laid out
                var sources = new[] { SpatialDimension(c, target[spatial[0]], 2), SpatialDimension(c, target[spatial[1]], 3) };
                if (sources.Any(s => s is null)) throw c.Unsupported($"reshape to [{string.Join(", ", target)}] with dynamic height and width");
                var parts = new List<string> { c.Ints64(resolved[..spatial[0]].Select((d, k) => k < keep ? 0 : d).ToArray()) };
                parts.AddRange(sources!);
                if (spatial[1] + 1 < target.Length) parts.Add(c.Ints64(target[(spatial[1] + 1)..]));
                c.Emit("Reshape", [c.In(0), c.Node("Concat", parts.ToArray(), ("axis", 0L))]);
                return;
            }
            else if (spatial.Length > 2) throw c.Unsupported($"reshape to [{string.Join(", ", target)}] with dynamic height and width");
            for (int k = 0; k < keep; k++) resolved[k] = 0;
        }
        c.Emit("Reshape", [c.In(0), c.Ints64(resolved)]);
    }

    // A run-time 1-element int64 tensor equal to a recorded spatial extent: the graph input's size along `axis`
    // divided by the factor that gave it.
    private static string? SpatialDimension(OnnxOpContext c, long value, int axis)
    {
        var input = c.Builder.InputShapeAtTrace;
        if (value <= 0 || input[axis] % value != 0) return null;
        long factor = input[axis] / value;
        var extent = c.Node("Shape", [c.Builder.InputName], ("start", (long)axis), ("end", (long)axis + 1));
        return factor == 1 ? extent : c.Node("Div", [extent, c.Ints64(factor)]);
    }

    private static void Slice(OnnxOpContext c, long axis, long start, long end, long step)
    {
        long extent = c.Shape(0)[axis];
        if (end >= extent) end = Int64Max;     // to the end, whatever the run-time size
        c.Emit("Slice", [c.In(0), c.Ints64(start), c.Ints64(end), c.Ints64(axis), c.Ints64(step)]);
    }
}
