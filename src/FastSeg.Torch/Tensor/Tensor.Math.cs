using FastSeg.Torch.Interop;
using FastSeg.Torch.Profiling;

namespace FastSeg.Torch;

public static partial class torch
{
    public partial class Tensor
    {
        // ---- arithmetic (broadcasting) --------------------------------------------------------------------------

        /// <summary>this + alpha · other.</summary>
        public Tensor add(Tensor other, Scalar? alpha = null)
        {
            var c = new OpCall(Aten.add);
            c.Tensor(this);
            c.Tensor(other);
            c.Scalar(alpha ?? 1);
            return c.InvokeTensor();
        }

        /// <summary>this + other.</summary>
        public Tensor add(Scalar other) => Ops.WithScalar(Aten.add_scalar, this, other);

        /// <summary>In place: this += alpha · other.</summary>
        public Tensor add_(Tensor other, Scalar? alpha = null)
        {
            var c = new OpCall(Aten.add_);
            c.Tensor(this);
            c.Tensor(other);
            c.Scalar(alpha ?? 1);
            return c.InvokeInPlace(this);
        }

        /// <summary>In place: this += other.</summary>
        public Tensor add_(Scalar other) => Ops.WithScalarInPlace(Aten.add_scalar_, this, other);

        /// <summary>this − alpha · other.</summary>
        public Tensor sub(Tensor other, Scalar? alpha = null)
        {
            var c = new OpCall(Aten.sub);
            c.Tensor(this);
            c.Tensor(other);
            c.Scalar(alpha ?? 1);
            return c.InvokeTensor();
        }

        /// <summary>this − other.</summary>
        public Tensor sub(Scalar other) => Ops.WithScalar(Aten.sub_scalar, this, other);

        /// <summary>In place: this −= alpha · other.</summary>
        public Tensor sub_(Tensor other, Scalar? alpha = null)
        {
            var c = new OpCall(Aten.sub_);
            c.Tensor(this);
            c.Tensor(other);
            c.Scalar(alpha ?? 1);
            return c.InvokeInPlace(this);
        }

        /// <summary>this · other.</summary>
        public Tensor mul(Tensor other) => Ops.Binary(Aten.mul, this, other);

        /// <summary>this · other.</summary>
        public Tensor mul(Scalar other) => Ops.WithScalar(Aten.mul_scalar, this, other);

        /// <summary>In place: this ·= other.</summary>
        public Tensor mul_(Tensor other) => Ops.BinaryInPlace(Aten.mul_, this, other);

        /// <summary>In place: this ·= other.</summary>
        public Tensor mul_(Scalar other) => Ops.WithScalarInPlace(Aten.mul_scalar_, this, other);

        /// <summary>this / other (true division; integers give floats).</summary>
        public Tensor div(Tensor other) => Ops.Binary(Aten.div, this, other);

        /// <summary>this / other with rounding "trunc" or "floor".</summary>
        public Tensor div(Tensor other, string rounding_mode)
        {
            var c = new OpCall(Aten.div_mode);
            c.Tensor(this);
            c.Tensor(other);
            c.String(rounding_mode);
            return c.InvokeTensor();
        }

        /// <summary>this / other.</summary>
        public Tensor div(Scalar other) => Ops.WithScalar(Aten.div_scalar, this, other);

        /// <summary>In place: this /= other.</summary>
        public Tensor div_(Tensor other) => Ops.BinaryInPlace(Aten.div_, this, other);

        /// <summary>In place: this /= other.</summary>
        public Tensor div_(Scalar other) => Ops.WithScalarInPlace(Aten.div_scalar_, this, other);

        /// <summary>Python-style remainder (sign of the divisor).</summary>
        public Tensor remainder(Scalar other) => Ops.WithScalar(Aten.remainder_scalar, this, other);

        /// <summary>−this.</summary>
        public Tensor neg() => Ops.Unary(Aten.neg, this);

        /// <summary>In place: this += value · t1 · t2.</summary>
        public Tensor addcmul_(Tensor tensor1, Tensor tensor2, Scalar? value = null)
        {
            var c = new OpCall(Aten.addcmul_);
            c.Tensor(this);
            c.Tensor(tensor1);
            c.Tensor(tensor2);
            c.Scalar(value ?? 1);
            return c.InvokeInPlace(this);
        }

        /// <summary>In place: this += value · t1 / t2.</summary>
        public Tensor addcdiv_(Tensor tensor1, Tensor tensor2, Scalar? value = null)
        {
            var c = new OpCall(Aten.addcdiv_);
            c.Tensor(this);
            c.Tensor(tensor1);
            c.Tensor(tensor2);
            c.Scalar(value ?? 1);
            return c.InvokeInPlace(this);
        }

        /// <summary>In place: this += weight · (end − this).</summary>
        public Tensor lerp_(Tensor end, Scalar weight)
        {
            var c = new OpCall(Aten.lerp_);
            c.Tensor(this);
            c.Tensor(end);
            c.Scalar(weight);
            return c.InvokeInPlace(this);
        }

        /// <summary>Matrix product with NumPy broadcasting rules.</summary>
        public Tensor matmul(Tensor other)
        {
            var output = Ops.Binary(Aten.matmul, this, other);
            if (MacCounter.Active) MacCounter.Matmul("matmul", output, this);
            return output;
        }

        /// <summary>2-D matrix product.</summary>
        public Tensor mm(Tensor other) => Ops.Binary(Aten.mm, this, other);

        /// <summary>Batched matrix product of 3-D tensors.</summary>
        public Tensor bmm(Tensor other)
        {
            var output = Ops.Binary(Aten.bmm, this, other);
            if (MacCounter.Active) MacCounter.Matmul("bmm", output, this);
            return output;
        }

        /// <summary>this ^ exponent.</summary>
        public Tensor pow(Scalar exponent) => Ops.WithScalar(Aten.pow_scalar, this, exponent);

        /// <summary>this ^ exponent, elementwise.</summary>
        public Tensor pow(Tensor exponent) => Ops.Binary(Aten.pow_tensor, this, exponent);

        /// <summary>eˣ.</summary>
        public Tensor exp() => Ops.Unary(Aten.exp, this);

        /// <summary>Sine (radians).</summary>
        public Tensor sin() => Ops.Unary(Aten.sin, this);

        /// <summary>Cosine (radians).</summary>
        public Tensor cos() => Ops.Unary(Aten.cos, this);

        /// <summary>Natural logarithm.</summary>
        public Tensor log() => Ops.Unary(Aten.log, this);

        /// <summary>ln(1 + x).</summary>
        public Tensor log1p() => Ops.Unary(Aten.log1p, this);

        /// <summary>Square root.</summary>
        public Tensor sqrt() => Ops.Unary(Aten.sqrt, this);

        /// <summary>In-place square root.</summary>
        public Tensor sqrt_() => Ops.UnaryInPlace(Aten.sqrt_, this);

        /// <summary>1 / √x.</summary>
        public Tensor rsqrt() => Ops.Unary(Aten.rsqrt, this);

        /// <summary>|x|.</summary>
        public Tensor abs() => Ops.Unary(Aten.abs, this);

        /// <summary>−1, 0 or 1.</summary>
        public Tensor sign() => Ops.Unary(Aten.sign, this);

        /// <summary>Rounds down.</summary>
        public Tensor floor() => Ops.Unary(Aten.floor, this);

        /// <summary>Rounds up.</summary>
        public Tensor ceil() => Ops.Unary(Aten.ceil, this);

        /// <summary>Rounds half to even.</summary>
        public Tensor round() => Ops.Unary(Aten.round, this);

        /// <summary>x².</summary>
        public Tensor square() => Ops.Unary(Aten.square, this);

        /// <summary>Logistic sigmoid.</summary>
        public Tensor sigmoid() => Ops.Unary(Aten.sigmoid, this);

        /// <summary>Hyperbolic tangent.</summary>
        public Tensor tanh() => Ops.Unary(Aten.tanh, this);

        /// <summary>max(x, 0).</summary>
        public Tensor relu() => Ops.Unary(Aten.relu, this);

        /// <summary>In place max(x, 0).</summary>
        public Tensor relu_() => nn.NonNegativeOutput.Consume(this) ? this : Ops.UnaryInPlace(Aten.relu_, this);

        /// <summary>Elementwise maximum.</summary>
        public Tensor maximum(Tensor other) => Ops.Binary(Aten.maximum, this, other);

        /// <summary>Elementwise minimum.</summary>
        public Tensor minimum(Tensor other) => Ops.Binary(Aten.minimum, this, other);

        /// <summary>Limits values to [min, max]; either bound may be null.</summary>
        public Tensor clamp(Scalar? min = null, Scalar? max = null)
        {
            if (min is null && max is null) throw new ArgumentException("clamp needs at least one of min and max");
            var c = new OpCall(Aten.clamp);
            c.Tensor(this);
            c.OptionalScalar(min);
            c.OptionalScalar(max);
            return c.InvokeTensor();
        }

        /// <summary>Limits values elementwise to tensors of bounds.</summary>
        public Tensor clamp(Tensor? min, Tensor? max)
        {
            if (min is null && max is null) throw new ArgumentException("clamp needs at least one of min and max");
            var c = new OpCall(Aten.clamp_tensor);
            c.Tensor(this);
            c.OptionalTensor(min);
            c.OptionalTensor(max);
            return c.InvokeTensor();
        }

        /// <summary>In place: limits values to [min, max].</summary>
        public Tensor clamp_(Scalar? min = null, Scalar? max = null)
        {
            if (min is null && max is null) throw new ArgumentException("clamp_ needs at least one of min and max");
            var c = new OpCall(Aten.clamp_);
            c.Tensor(this);
            c.OptionalScalar(min);
            c.OptionalScalar(max);
            return c.InvokeInPlace(this);
        }

        /// <summary>max(x, min).</summary>
        public Tensor clamp_min(Scalar min) => Ops.WithScalar(Aten.clamp_min, this, min);

        /// <summary>min(x, max).</summary>
        public Tensor clamp_max(Scalar max) => Ops.WithScalar(Aten.clamp_max, this, max);

        // ---- comparisons ----------------------------------------------------------------------------------------

        /// <summary>Elementwise ==.</summary>
        public Tensor eq(Tensor other) => Ops.Binary(Aten.eq, this, other);
        /// <summary>Elementwise ==.</summary>
        public Tensor eq(Scalar other) => Ops.WithScalar(Aten.eq_scalar, this, other);
        /// <summary>Elementwise !=.</summary>
        public Tensor ne(Tensor other) => Ops.Binary(Aten.ne, this, other);
        /// <summary>Elementwise !=.</summary>
        public Tensor ne(Scalar other) => Ops.WithScalar(Aten.ne_scalar, this, other);
        /// <summary>Elementwise &lt;.</summary>
        public Tensor lt(Tensor other) => Ops.Binary(Aten.lt, this, other);
        /// <summary>Elementwise &lt;.</summary>
        public Tensor lt(Scalar other) => Ops.WithScalar(Aten.lt_scalar, this, other);
        /// <summary>Elementwise &lt;=.</summary>
        public Tensor le(Tensor other) => Ops.Binary(Aten.le, this, other);
        /// <summary>Elementwise &lt;=.</summary>
        public Tensor le(Scalar other) => Ops.WithScalar(Aten.le_scalar, this, other);
        /// <summary>Elementwise &gt;.</summary>
        public Tensor gt(Tensor other) => Ops.Binary(Aten.gt, this, other);
        /// <summary>Elementwise &gt;.</summary>
        public Tensor gt(Scalar other) => Ops.WithScalar(Aten.gt_scalar, this, other);
        /// <summary>Elementwise &gt;=.</summary>
        public Tensor ge(Tensor other) => Ops.Binary(Aten.ge, this, other);
        /// <summary>Elementwise &gt;=.</summary>
        public Tensor ge(Scalar other) => Ops.WithScalar(Aten.ge_scalar, this, other);
        /// <summary>Elementwise logical and.</summary>
        public Tensor logical_and(Tensor other) => Ops.Binary(Aten.logical_and, this, other);
        /// <summary>Elementwise logical or.</summary>
        public Tensor logical_or(Tensor other) => Ops.Binary(Aten.logical_or, this, other);
        /// <summary>Elementwise logical not.</summary>
        public Tensor logical_not() => Ops.Unary(Aten.logical_not, this);
        /// <summary>Elementwise NaN test.</summary>
        public Tensor isnan() => Ops.Unary(Aten.isnan, this);

        /// <summary>Whether |this − other| ≤ atol + rtol · |other| everywhere.</summary>
        public bool allclose(Tensor other, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false)
        {
            var c = new OpCall(Aten.allclose);
            c.Tensor(this);
            c.Tensor(other);
            c.Double(rtol);
            c.Double(atol);
            c.Bool(equal_nan);
            return c.Invoke().Bool();
        }

        /// <summary>Whether both tensors have the same shape and elements.</summary>
        public bool equal(Tensor other)
        {
            var c = new OpCall(Aten.equal);
            c.Tensor(this);
            c.Tensor(other);
            return c.Invoke().Bool();
        }

        // ---- reductions -----------------------------------------------------------------------------------------

        /// <summary>Sum of all elements.</summary>
        public Tensor sum(ScalarType? type = null)
        {
            var c = new OpCall(Aten.sum);
            c.Tensor(this);
            c.OptionalDType(type);
            return c.InvokeTensor();
        }

        /// <summary>Sum over <paramref name="dim"/>.</summary>
        public Tensor sum(long[] dim, bool keepdim = false, ScalarType? type = null) => DimReduce(Aten.sum_dim, dim, keepdim, type);

        /// <summary>Sum over one dimension.</summary>
        public Tensor sum(long dim, bool keepdim = false, ScalarType? type = null) => sum(new[] { dim }, keepdim, type);

        /// <summary>Sum over one dimension.</summary>
        /// <remarks>
        /// Exists so that <c>sum(0)</c> means dimension 0: without an <c>int</c> overload C# converts the literal 0 to
        /// <see cref="ScalarType"/> and picks <see cref="sum(ScalarType?)"/>, a full sum in uint8.
        /// </remarks>
        public Tensor sum(int dim, bool keepdim = false, ScalarType? type = null) => sum(new long[] { dim }, keepdim, type);

        /// <summary>Mean of all elements.</summary>
        public Tensor mean(ScalarType? type = null)
        {
            var c = new OpCall(Aten.mean);
            c.Tensor(this);
            c.OptionalDType(type);
            return c.InvokeTensor();
        }

        /// <summary>Mean over <paramref name="dim"/>.</summary>
        public Tensor mean(long[] dim, bool keepdim = false, ScalarType? type = null) => DimReduce(Aten.mean_dim, dim, keepdim, type);

        /// <summary>Mean over one dimension.</summary>
        public Tensor mean(long dim, bool keepdim = false, ScalarType? type = null) => mean(new[] { dim }, keepdim, type);

        /// <summary>Mean over one dimension (an <c>int</c> overload for the same reason as <see cref="sum(int, bool, ScalarType?)"/>).</summary>
        public Tensor mean(int dim, bool keepdim = false, ScalarType? type = null) => mean(new long[] { dim }, keepdim, type);

        private Tensor DimReduce(AtenOp op, long[] dim, bool keepdim, ScalarType? type)
        {
            var c = new OpCall(op);
            c.Tensor(this);
            c.Ints(dim);
            c.Bool(keepdim);
            c.OptionalDType(type);
            return c.InvokeTensor();
        }

        /// <summary>Largest element.</summary>
        public Tensor max() => Ops.Unary(Aten.max, this);

        /// <summary>Largest values along <paramref name="dim"/> and their indices.</summary>
        public (Tensor values, Tensor indexes) max(long dim, bool keepdim = false) => DimWithIndices(Aten.max_dim, dim, keepdim);

        /// <summary>Smallest element.</summary>
        public Tensor min() => Ops.Unary(Aten.min, this);

        /// <summary>Smallest values along <paramref name="dim"/> and their indices.</summary>
        public (Tensor values, Tensor indexes) min(long dim, bool keepdim = false) => DimWithIndices(Aten.min_dim, dim, keepdim);

        private (Tensor, Tensor) DimWithIndices(AtenOp op, long dim, bool keepdim)
        {
            var c = new OpCall(op);
            c.Tensor(this);
            c.Int(dim);
            c.Bool(keepdim);
            return c.Invoke().TwoTensors();
        }

        /// <summary>Largest values over several dimensions.</summary>
        public Tensor amax(long[] dim, bool keepdim = false)
        {
            var c = new OpCall(Aten.amax);
            c.Tensor(this);
            c.Ints(dim);
            c.Bool(keepdim);
            return c.InvokeTensor();
        }

        /// <summary>Smallest values over several dimensions.</summary>
        public Tensor amin(long[] dim, bool keepdim = false)
        {
            var c = new OpCall(Aten.amin);
            c.Tensor(this);
            c.Ints(dim);
            c.Bool(keepdim);
            return c.InvokeTensor();
        }

        /// <summary>Index of the largest element (flattened when <paramref name="dim"/> is null).</summary>
        public Tensor argmax(long? dim = null, bool keepdim = false) => ArgReduce(Aten.argmax, dim, keepdim);

        /// <summary>Index of the smallest element (flattened when <paramref name="dim"/> is null).</summary>
        public Tensor argmin(long? dim = null, bool keepdim = false) => ArgReduce(Aten.argmin, dim, keepdim);

        private Tensor ArgReduce(AtenOp op, long? dim, bool keepdim)
        {
            var c = new OpCall(op);
            c.Tensor(this);
            c.OptionalInt(dim);
            c.Bool(keepdim);
            return c.InvokeTensor();
        }

        /// <summary>The <paramref name="k"/> largest (or smallest) values along <paramref name="dim"/> and their indices.</summary>
        public (Tensor values, Tensor indexes) topk(long k, long dim = -1, bool largest = true, bool sorted = true)
        {
            var c = new OpCall(Aten.topk);
            c.Tensor(this);
            c.Int(k);
            c.Int(dim);
            c.Bool(largest);
            c.Bool(sorted);
            return c.Invoke().TwoTensors();
        }

        /// <summary>Sorted values along <paramref name="dim"/> and their indices.</summary>
        public (Tensor values, Tensor indices) sort(long dim = -1, bool descending = false)
        {
            var c = new OpCall(Aten.sort);
            c.Tensor(this);
            c.Int(dim);
            c.Bool(descending);
            return c.Invoke().TwoTensors();
        }

        /// <summary>Indices that sort along <paramref name="dim"/>.</summary>
        public Tensor argsort(long dim = -1, bool descending = false)
        {
            var c = new OpCall(Aten.argsort);
            c.Tensor(this);
            c.Int(dim);
            c.Bool(descending);
            return c.InvokeTensor();
        }

        /// <summary>Cumulative sum along <paramref name="dim"/>.</summary>
        public Tensor cumsum(long dim, ScalarType? type = null)
        {
            var c = new OpCall(Aten.cumsum);
            c.Tensor(this);
            c.Int(dim);
            c.OptionalDType(type);
            return c.InvokeTensor();
        }

        /// <summary>Product of all elements.</summary>
        public Tensor prod() => Ops.Unary(Aten.prod, this);

        /// <summary>Whether any element is true.</summary>
        public Tensor any() => Ops.Unary(Aten.any, this);

        /// <summary>Whether every element is true.</summary>
        public Tensor all() => Ops.Unary(Aten.all, this);

        /// <summary>The p-norm over all elements or over <paramref name="dim"/>.</summary>
        public Tensor norm(double p = 2, long[]? dim = null, bool keepdim = false)
        {
            var c = new OpCall(Aten.norm);
            c.Tensor(this);
            c.Scalar(p);
            c.OptionalInts(dim);
            c.Bool(keepdim);
            return c.InvokeTensor();
        }

        /// <summary>Variance (Bessel-corrected unless <paramref name="unbiased"/> is false).</summary>
        public Tensor var(long[]? dim = null, bool unbiased = true, bool keepdim = false) => Moment(Aten.var, dim, unbiased, keepdim);

        /// <summary>Standard deviation (Bessel-corrected unless <paramref name="unbiased"/> is false).</summary>
        public Tensor std(long[]? dim = null, bool unbiased = true, bool keepdim = false) => Moment(Aten.std, dim, unbiased, keepdim);

        private Tensor Moment(AtenOp op, long[]? dim, bool unbiased, bool keepdim)
        {
            var c = new OpCall(op);
            c.Tensor(this);
            c.OptionalInts(dim);
            c.Int(unbiased ? 1 : 0);
            c.Bool(keepdim);
            return c.InvokeTensor();
        }

        /// <summary>log Σ exp over <paramref name="dim"/>.</summary>
        public Tensor logsumexp(long[] dim, bool keepdim = false)
        {
            var c = new OpCall(Aten.logsumexp);
            c.Tensor(this);
            c.Ints(dim);
            c.Bool(keepdim);
            return c.InvokeTensor();
        }

        /// <summary>Softmax along <paramref name="dim"/>.</summary>
        public Tensor softmax(long dim, ScalarType? type = null) => nn.functional.softmax(this, dim, type);

        /// <summary>Log-softmax along <paramref name="dim"/>.</summary>
        public Tensor log_softmax(long dim, ScalarType? type = null) => nn.functional.log_softmax(this, dim, type);

        // ---- operators ------------------------------------------------------------------------------------------

        /// <summary>Elementwise sum.</summary>
        public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
        /// <summary>Adds a scalar.</summary>
        public static Tensor operator +(Tensor a, Scalar b) => a.add(b);
        /// <summary>Adds a scalar.</summary>
        public static Tensor operator +(Scalar a, Tensor b) => b.add(a);
        /// <summary>Elementwise difference.</summary>
        public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
        /// <summary>Subtracts a scalar.</summary>
        public static Tensor operator -(Tensor a, Scalar b) => a.sub(b);
        /// <summary>Scalar minus tensor.</summary>
        public static Tensor operator -(Scalar a, Tensor b) => Ops.WithScalar(Aten.rsub_scalar, b, a);
        /// <summary>Negation.</summary>
        public static Tensor operator -(Tensor a) => a.neg();
        /// <summary>Elementwise product.</summary>
        public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
        /// <summary>Multiplies by a scalar.</summary>
        public static Tensor operator *(Tensor a, Scalar b) => a.mul(b);
        /// <summary>Multiplies by a scalar.</summary>
        public static Tensor operator *(Scalar a, Tensor b) => b.mul(a);
        /// <summary>Elementwise true division.</summary>
        public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
        /// <summary>Divides by a scalar.</summary>
        public static Tensor operator /(Tensor a, Scalar b) => a.div(b);
        /// <summary>Scalar divided by tensor.</summary>
        public static Tensor operator /(Scalar a, Tensor b)
        {
            using var r = b.reciprocal_scalar();
            return r.mul(a);
        }
        /// <summary>Python-style remainder.</summary>
        public static Tensor operator %(Tensor a, Scalar b) => a.remainder(b);
        /// <summary>Elementwise logical and.</summary>
        public static Tensor operator &(Tensor a, Tensor b) => a.logical_and(b);
        /// <summary>Elementwise logical or.</summary>
        public static Tensor operator |(Tensor a, Tensor b) => a.logical_or(b);
        /// <summary>Elementwise logical not.</summary>
        public static Tensor operator !(Tensor a) => a.logical_not();
        /// <summary>Elementwise &lt;.</summary>
        public static Tensor operator <(Tensor a, Tensor b) => a.lt(b);
        /// <summary>Elementwise &gt;.</summary>
        public static Tensor operator >(Tensor a, Tensor b) => a.gt(b);
        /// <summary>Elementwise &lt;=.</summary>
        public static Tensor operator <=(Tensor a, Tensor b) => a.le(b);
        /// <summary>Elementwise &gt;=.</summary>
        public static Tensor operator >=(Tensor a, Tensor b) => a.ge(b);
        /// <summary>Elementwise &lt; scalar.</summary>
        public static Tensor operator <(Tensor a, Scalar b) => a.lt(b);
        /// <summary>Elementwise &gt; scalar.</summary>
        public static Tensor operator >(Tensor a, Scalar b) => a.gt(b);
        /// <summary>Elementwise &lt;= scalar.</summary>
        public static Tensor operator <=(Tensor a, Scalar b) => a.le(b);
        /// <summary>Elementwise &gt;= scalar.</summary>
        public static Tensor operator >=(Tensor a, Scalar b) => a.ge(b);

        private Tensor reciprocal_scalar() => Ops.WithScalar(Aten.pow_scalar, this, -1.0);
    }
}
