using System.Runtime.InteropServices;
using FastSeg.Torch.Interop;

namespace FastSeg.Torch;

/// <summary>
/// The root of the API, shaped like TorchSharp's <c>torch</c> class: factories, free functions, grad modes,
/// random seeding, threading and device queries. Use it as <c>using static FastSeg.Torch.torch;</c> or <c>torch.zeros(...)</c>.
/// </summary>
public static partial class torch
{
    static torch()
    {
        // libtorch picks its intra-op thread count from OpenMP's defaults, which can be fewer than the cores a .NET
        // process sees; use every core unless the user set OMP_NUM_THREADS.
        if (Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is null)
            NativeMethods.fs_set_num_threads(Environment.ProcessorCount);
    }

    /// <summary>The libtorch version the bridge was compiled against.</summary>
    public static string __version__
    {
        get
        {
            Native.Check(NativeMethods.fs_version(out var v));
            return Marshal.PtrToStringUTF8(v) ?? "";
        }
    }

    /// <summary>Seeds the default random generators (CPU and every CUDA device).</summary>
    public static void manual_seed(long seed) => Native.Check(NativeMethods.fs_manual_seed(seed));

    /// <summary>Random-number control, as in <c>torch.random</c>.</summary>
    public static class random
    {
        /// <summary>Seeds the default random generators.</summary>
        public static void manual_seed(long seed) => torch.manual_seed(seed);
    }

    /// <summary>Sets the number of threads libtorch uses inside one operator.</summary>
    public static void set_num_threads(int threads) => Native.Check(NativeMethods.fs_set_num_threads(threads));

    /// <summary>The number of threads libtorch uses inside one operator.</summary>
    public static int get_num_threads()
    {
        Native.Check(NativeMethods.fs_get_num_threads(out var n));
        return n;
    }

    /// <summary>CUDA queries. This libtorch may be CPU-only, in which case nothing is available.</summary>
    public static class cuda
    {
        /// <summary>Whether a CUDA device can be used.</summary>
        public static bool is_available()
        {
            Native.Check(NativeMethods.fs_cuda_is_available(out var a));
            return a != 0;
        }

        /// <summary>How many CUDA devices there are.</summary>
        public static int device_count()
        {
            Native.Check(NativeMethods.fs_cuda_device_count(out var n));
            return n;
        }

        /// <summary>Seeds every CUDA device's generator (and the CPU's).</summary>
        public static void manual_seed_all(long seed) => manual_seed(seed);
    }

    // ---- factories --------------------------------------------------------------------------------------------------

    private static Tensor Factory(AtenOp op, ReadOnlySpan<long> size, ScalarType? dtype, Device? device, bool requires_grad)
    {
        var c = new OpCall(op);
        c.Ints(size);
        c.OptionalDType(dtype);
        c.None();
        c.OptionalDevice(device);
        var t = c.InvokeTensor();
        if (requires_grad) t.requires_grad = true;
        return t;
    }

    /// <summary>A tensor of zeros.</summary>
    public static Tensor zeros(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        Factory(Aten.zeros, size, dtype, device, requires_grad);

    /// <summary>A tensor of zeros.</summary>
    public static Tensor zeros(params long[] size) => zeros(size, null);

    /// <summary>A tensor of ones.</summary>
    public static Tensor ones(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        Factory(Aten.ones, size, dtype, device, requires_grad);

    /// <summary>A tensor of ones.</summary>
    public static Tensor ones(params long[] size) => ones(size, null);

    /// <summary>An uninitialised tensor.</summary>
    public static Tensor empty(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        Factory(Aten.empty, size, dtype, device, requires_grad);

    /// <summary>An uninitialised tensor.</summary>
    public static Tensor empty(params long[] size) => empty(size, null);

    /// <summary>Uniform samples from [0, 1).</summary>
    public static Tensor rand(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        Factory(Aten.rand, size, dtype, device, requires_grad);

    /// <summary>Uniform samples from [0, 1).</summary>
    public static Tensor rand(params long[] size) => rand(size, null);

    /// <summary>Samples from N(0, 1).</summary>
    public static Tensor randn(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        Factory(Aten.randn, size, dtype, device, requires_grad);

    /// <summary>Samples from N(0, 1).</summary>
    public static Tensor randn(params long[] size) => randn(size, null);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor full(long[] size, Scalar value, ScalarType? dtype = null, Device? device = null, bool requires_grad = false)
    {
        var c = new OpCall(Aten.full);
        c.Ints(size);
        c.Scalar(value);
        c.OptionalDType(dtype);
        c.None();
        c.OptionalDevice(device);
        var t = c.InvokeTensor();
        if (requires_grad) t.requires_grad = true;
        return t;
    }

    /// <summary>Integers drawn uniformly from [low, high).</summary>
    public static Tensor randint(long low, long high, long[] size, ScalarType? dtype = null, Device? device = null)
    {
        var c = new OpCall(Aten.randint);
        c.Int(low);
        c.Int(high);
        c.Ints(size);
        c.DType(dtype ?? ScalarType.Int64);
        c.None();
        c.OptionalDevice(device);
        return c.InvokeTensor();
    }

    /// <summary>Integers drawn uniformly from [0, high).</summary>
    public static Tensor randint(long high, long[] size, ScalarType? dtype = null, Device? device = null) =>
        randint(0, high, size, dtype, device);

    /// <summary>A random permutation of 0..n-1.</summary>
    public static Tensor randperm(long n, ScalarType? dtype = null, Device? device = null)
    {
        var c = new OpCall(Aten.randperm);
        c.Int(n);
        c.DType(dtype ?? ScalarType.Int64);
        c.None();
        c.OptionalDevice(device);
        return c.InvokeTensor();
    }

    /// <summary>Values from <paramref name="start"/> to <paramref name="stop"/> (exclusive) by <paramref name="step"/>.</summary>
    public static Tensor arange(Scalar start, Scalar stop, Scalar step, ScalarType? dtype = null, Device? device = null,
        bool requires_grad = false)
    {
        var c = new OpCall(Aten.arange);
        c.Scalar(start);
        c.Scalar(stop);
        c.Scalar(step);
        c.OptionalDType(dtype);
        c.None();
        c.OptionalDevice(device);
        var t = c.InvokeTensor();
        if (requires_grad) t.requires_grad = true;
        return t;
    }

    /// <summary>Values from <paramref name="start"/> to <paramref name="stop"/> (exclusive) by one.</summary>
    public static Tensor arange(Scalar start, Scalar stop, ScalarType? dtype = null, Device? device = null) =>
        arange(start, stop, 1, dtype, device);

    /// <summary>Values from 0 to <paramref name="stop"/> (exclusive) by one.</summary>
    public static Tensor arange(Scalar stop, ScalarType? dtype = null, Device? device = null) =>
        arange(0, stop, 1, dtype, device);

    /// <summary><paramref name="steps"/> evenly spaced values from start to end inclusive.</summary>
    public static Tensor linspace(double start, double end, long steps, ScalarType? dtype = null, Device? device = null)
    {
        var c = new OpCall(Aten.linspace);
        c.Scalar(start);
        c.Scalar(end);
        c.Int(steps);
        c.OptionalDType(dtype);
        c.None();
        c.OptionalDevice(device);
        return c.InvokeTensor();
    }

    /// <summary>The n×n identity matrix.</summary>
    public static Tensor eye(long n, ScalarType? dtype = null, Device? device = null)
    {
        var c = new OpCall(Aten.eye);
        c.Int(n);
        c.OptionalDType(dtype);
        c.None();
        c.OptionalDevice(device);
        return c.InvokeTensor();
    }

    private static Tensor Like(AtenOp op, Tensor input, ScalarType? dtype, Device? device)
    {
        var c = new OpCall(op);
        c.Tensor(input);
        c.OptionalDType(dtype);
        c.None();
        c.OptionalDevice(device);
        return c.InvokeTensor();
    }

    /// <summary>Zeros with the shape (and by default dtype and device) of <paramref name="input"/>.</summary>
    public static Tensor zeros_like(Tensor input, ScalarType? dtype = null, Device? device = null) => Like(Aten.zeros_like, input, dtype, device);

    /// <summary>Ones with the shape of <paramref name="input"/>.</summary>
    public static Tensor ones_like(Tensor input, ScalarType? dtype = null, Device? device = null) => Like(Aten.ones_like, input, dtype, device);

    /// <summary>An uninitialised tensor with the shape of <paramref name="input"/>.</summary>
    public static Tensor empty_like(Tensor input, ScalarType? dtype = null, Device? device = null) => Like(Aten.empty_like, input, dtype, device);

    /// <summary>Uniform samples with the shape of <paramref name="input"/>.</summary>
    public static Tensor rand_like(Tensor input, ScalarType? dtype = null, Device? device = null) => Like(Aten.rand_like, input, dtype, device);

    /// <summary>Normal samples with the shape of <paramref name="input"/>.</summary>
    public static Tensor randn_like(Tensor input, ScalarType? dtype = null, Device? device = null) => Like(Aten.randn_like, input, dtype, device);

    /// <summary>A tensor of <paramref name="value"/> with the shape of <paramref name="input"/>.</summary>
    public static Tensor full_like(Tensor input, Scalar value, ScalarType? dtype = null, Device? device = null)
    {
        var c = new OpCall(Aten.full_like);
        c.Tensor(input);
        c.Scalar(value);
        c.OptionalDType(dtype);
        c.None();
        c.OptionalDevice(device);
        return c.InvokeTensor();
    }

    // ---- free functions -------------------------------------------------------------------------------------------

    /// <summary>Concatenates along an existing dimension.</summary>
    public static Tensor cat(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        var c = new OpCall(Aten.cat);
        c.Tensors(tensors);
        c.Int(dim);
        return c.InvokeTensor();
    }

    /// <summary>Concatenates along a new dimension.</summary>
    public static Tensor stack(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        var c = new OpCall(Aten.stack);
        c.Tensors(tensors);
        c.Int(dim);
        return c.InvokeTensor();
    }

    /// <summary>Picks <paramref name="x"/> where <paramref name="condition"/> is true, else <paramref name="y"/>.</summary>
    public static Tensor where(Tensor condition, Tensor x, Tensor y)
    {
        var c = new OpCall(Aten.where);
        c.Tensor(condition);
        c.Tensor(x);
        c.Tensor(y);
        return c.InvokeTensor();
    }

    /// <summary>Picks <paramref name="x"/> where <paramref name="condition"/> is true, else the scalar <paramref name="y"/>.</summary>
    public static Tensor where(Tensor condition, Tensor x, Scalar y)
    {
        var c = new OpCall(Aten.where_scalar_other);
        c.Tensor(condition);
        c.Tensor(x);
        c.Scalar(y);
        return c.InvokeTensor();
    }

    /// <summary>Picks the scalar <paramref name="x"/> where <paramref name="condition"/> is true, else <paramref name="y"/>.</summary>
    public static Tensor where(Tensor condition, Scalar x, Tensor y)
    {
        var c = new OpCall(Aten.where_scalar_self);
        c.Tensor(condition);
        c.Scalar(x);
        c.Tensor(y);
        return c.InvokeTensor();
    }

    /// <summary>Limits values to [min, max].</summary>
    public static Tensor clamp(Tensor input, Scalar? min = null, Scalar? max = null) => input.clamp(min, max);

    /// <summary>Matrix product with broadcasting.</summary>
    public static Tensor matmul(Tensor a, Tensor b) => a.matmul(b);

    /// <summary>Batched matrix product.</summary>
    public static Tensor bmm(Tensor a, Tensor b) => a.bmm(b);

    /// <summary>Elementwise eˣ.</summary>
    public static Tensor exp(Tensor x) => x.exp();

    /// <summary>Elementwise natural log.</summary>
    public static Tensor log(Tensor x) => x.log();

    /// <summary>Elementwise square root.</summary>
    public static Tensor sqrt(Tensor x) => x.sqrt();

    /// <summary>Elementwise power.</summary>
    public static Tensor pow(Tensor x, Scalar exponent) => x.pow(exponent);

    /// <summary>Elementwise absolute value.</summary>
    public static Tensor abs(Tensor x) => x.abs();

    /// <summary>Elementwise maximum of two tensors.</summary>
    public static Tensor maximum(Tensor a, Tensor b) => a.maximum(b);

    /// <summary>Elementwise minimum of two tensors.</summary>
    public static Tensor minimum(Tensor a, Tensor b) => a.minimum(b);

    /// <summary>Sum of all elements.</summary>
    public static Tensor sum(Tensor x) => x.sum();

    /// <summary>Mean of all elements.</summary>
    public static Tensor mean(Tensor x) => x.mean();

    /// <summary>Index of the largest element along <paramref name="dim"/>.</summary>
    public static Tensor argmax(Tensor x, long? dim = null, bool keepdim = false) => x.argmax(dim, keepdim);

    /// <summary>The k largest values and their indices.</summary>
    public static (Tensor values, Tensor indexes) topk(Tensor x, long k, long dim = -1, bool largest = true, bool sorted = true) =>
        x.topk(k, dim, largest, sorted);

    /// <summary>Whether two tensors are elementwise close.</summary>
    public static bool allclose(Tensor a, Tensor b, double rtol = 1e-5, double atol = 1e-8) => a.allclose(b, rtol, atol);
}
