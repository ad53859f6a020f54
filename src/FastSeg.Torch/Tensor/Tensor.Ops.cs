using FastSeg.Torch.Interop;

namespace FastSeg.Torch;

public static partial class torch
{
    public partial class Tensor
    {
        // ---- conversion and memory ------------------------------------------------------------------------------

        /// <summary>Converts to <paramref name="type"/> and moves to <paramref name="target"/> (a no-op alias when both match).</summary>
        public Tensor to(ScalarType? type = null, Device? target = null, bool non_blocking = false, bool copy = false,
            MemoryFormat? memory_format = null)
        {
            var c = new OpCall(Aten.to);
            c.Tensor(this);
            c.OptionalDType(type);
            c.None();
            c.OptionalDevice(target);
            c.None();
            c.Bool(non_blocking);
            c.Bool(copy);
            if (memory_format is null) c.None();
            else c.Int((long)memory_format.Value);
            return c.InvokeTensor();
        }

        /// <summary>Moves to <paramref name="target"/>.</summary>
        public Tensor to(Device target) => to(null, target);

        /// <summary>Converts to <paramref name="type"/>.</summary>
        public Tensor to(ScalarType type) => to(type, null);

        /// <summary>Converts to <paramref name="type"/> (TorchSharp's name).</summary>
        public Tensor to_type(ScalarType type) => to(type, null);

        /// <summary>Converts to the dtype and device of <paramref name="other"/>.</summary>
        public Tensor type_as(Tensor other) => to(other.dtype, other.device);

        /// <summary>Moves to the CPU.</summary>
        public Tensor cpu() => to(CPU);

        /// <summary>Moves to a CUDA device.</summary>
        public Tensor cuda(int index = -1) => to(new Device(DeviceType.CUDA, index));

        /// <summary>Converts to float32.</summary>
        public Tensor @float() => to(ScalarType.Float32);

        /// <summary>Converts to float64.</summary>
        public Tensor @double() => to(ScalarType.Float64);

        /// <summary>Converts to float16.</summary>
        public Tensor half() => to(ScalarType.Float16);

        /// <summary>Converts to bfloat16.</summary>
        public Tensor bfloat16() => to(ScalarType.BFloat16);

        /// <summary>Converts to int64.</summary>
        public Tensor @long() => to(ScalarType.Int64);

        /// <summary>Converts to int32.</summary>
        public Tensor @int() => to(ScalarType.Int32);

        /// <summary>Converts to bool.</summary>
        public Tensor @bool() => to(ScalarType.Bool);

        /// <summary>Converts to uint8.</summary>
        public Tensor @byte() => to(ScalarType.Byte);

        /// <summary>A dense copy in <paramref name="memory_format"/>, or an alias when already laid out that way.</summary>
        public Tensor contiguous(MemoryFormat memory_format = MemoryFormat.Contiguous)
        {
            var c = new OpCall(Aten.contiguous);
            c.Tensor(this);
            c.Int((long)memory_format);
            return c.InvokeTensor();
        }

        /// <summary>Whether the elements are dense in <paramref name="memory_format"/>.</summary>
        public bool is_contiguous(MemoryFormat memory_format = MemoryFormat.Contiguous)
        {
            Native.Check(NativeMethods.fs_tensor_is_contiguous(NativeHandle, (int)memory_format, out var contiguous));
            return contiguous != 0;
        }

        /// <summary>A copy with its own storage (gradients flow back to the source).</summary>
        public Tensor clone() => Ops.Unary(Aten.clone, this);

        /// <summary>The same data without autograd history.</summary>
        public Tensor detach() => Ops.Unary(Aten.detach, this);

        /// <summary>Copies <paramref name="source"/> (broadcast) into this tensor.</summary>
        public Tensor copy_(Tensor source, bool non_blocking = false)
        {
            var c = new OpCall(Aten.copy_);
            c.Tensor(this);
            c.Tensor(source);
            c.Bool(non_blocking);
            return c.InvokeInPlace(this);
        }

        /// <summary>Fills with zeros.</summary>
        public Tensor zero_() => Ops.UnaryInPlace(Aten.zero_, this);

        /// <summary>Fills with <paramref name="value"/>.</summary>
        public Tensor fill_(Scalar value) => Ops.WithScalarInPlace(Aten.fill_, this, value);

        /// <summary>Fills with values drawn uniformly from [<paramref name="from"/>, <paramref name="to"/>).</summary>
        public Tensor uniform_(double from = 0, double to = 1)
        {
            var c = new OpCall(Aten.uniform_);
            c.Tensor(this);
            c.Double(from);
            c.Double(to);
            return c.InvokeInPlace(this);
        }

        /// <summary>Fills with values drawn from N(<paramref name="mean"/>, <paramref name="std"/>²).</summary>
        public Tensor normal_(double mean = 0, double std = 1)
        {
            var c = new OpCall(Aten.normal_);
            c.Tensor(this);
            c.Double(mean);
            c.Double(std);
            return c.InvokeInPlace(this);
        }

        /// <summary>Fills with 1 with probability <paramref name="p"/>, else 0.</summary>
        public Tensor bernoulli_(double p = 0.5)
        {
            var c = new OpCall(Aten.bernoulli_);
            c.Tensor(this);
            c.Double(p);
            return c.InvokeInPlace(this);
        }

        // ---- shape ----------------------------------------------------------------------------------------------

        /// <summary>A view with a new shape (one dimension may be -1); the elements must be laid out compatibly.</summary>
        public Tensor view(params long[] shape) => Ops.WithInts(Aten.view, this, shape);

        /// <summary>A tensor with a new shape, a view when possible and a copy otherwise.</summary>
        public Tensor reshape(params long[] shape) => Ops.WithInts(Aten.reshape, this, shape);

        /// <summary>Reorders the dimensions.</summary>
        public Tensor permute(params long[] dims) => Ops.WithInts(Aten.permute, this, dims);

        /// <summary>Swaps two dimensions.</summary>
        public Tensor transpose(long dim0, long dim1)
        {
            var c = new OpCall(Aten.transpose);
            c.Tensor(this);
            c.Int(dim0);
            c.Int(dim1);
            return c.InvokeTensor();
        }

        /// <summary>Transposes a 2-D tensor.</summary>
        public Tensor t() => transpose(0, 1);

        /// <summary>Removes every dimension of size 1, or only <paramref name="dim"/> when given.</summary>
        public Tensor squeeze(long? dim = null) =>
            dim is null ? Ops.Unary(Aten.squeeze, this) : Ops.WithInt(Aten.squeeze_dim, this, dim.Value);

        /// <summary>Inserts a dimension of size 1 at <paramref name="dim"/>.</summary>
        public Tensor unsqueeze(long dim) => Ops.WithInt(Aten.unsqueeze, this, dim);

        /// <summary>A broadcast view with sizes <paramref name="sizes"/> (-1 keeps a size).</summary>
        public Tensor expand(params long[] sizes) => Ops.WithInts(Aten.expand, this, sizes);

        /// <summary>A broadcast view with the shape of <paramref name="other"/>.</summary>
        public Tensor expand_as(Tensor other) => Ops.Binary(Aten.expand_as, this, other);

        /// <summary>Merges dimensions <paramref name="start_dim"/> to <paramref name="end_dim"/> into one.</summary>
        public Tensor flatten(long start_dim = 0, long end_dim = -1)
        {
            var c = new OpCall(Aten.flatten);
            c.Tensor(this);
            c.Int(start_dim);
            c.Int(end_dim);
            return c.InvokeTensor();
        }

        /// <summary>Tiles the tensor <paramref name="repeats"/> times along each dimension.</summary>
        public Tensor repeat(params long[] repeats) => Ops.WithInts(Aten.repeat, this, repeats);

        /// <summary>Reverses the order of elements along <paramref name="dims"/>.</summary>
        public Tensor flip(params long[] dims) => Ops.WithInts(Aten.flip, this, dims);

        // ---- indexing -------------------------------------------------------------------------------------------

        /// <summary>A view of <paramref name="length"/> elements of dimension <paramref name="dim"/> from <paramref name="start"/>.</summary>
        public Tensor narrow(long dim, long start, long length)
        {
            var c = new OpCall(Aten.narrow);
            c.Tensor(this);
            c.Int(dim);
            c.Int(start);
            c.Int(length);
            return c.InvokeTensor();
        }

        /// <summary>A view of dimension <paramref name="dim"/> from <paramref name="start"/> to <paramref name="end"/> (exclusive) with a step.</summary>
        public Tensor slice(long dim, long? start, long? end, long step = 1)
        {
            var c = new OpCall(Aten.slice);
            c.Tensor(this);
            c.Int(dim);
            c.OptionalInt(start);
            c.OptionalInt(end);
            c.Int(step);
            return c.InvokeTensor();
        }

        /// <summary>A view of element <paramref name="index"/> of dimension <paramref name="dim"/>, which is removed.</summary>
        public Tensor select(long dim, long index)
        {
            var c = new OpCall(Aten.select);
            c.Tensor(this);
            c.Int(dim);
            c.Int(index);
            return c.InvokeTensor();
        }

        /// <summary>The elements of dimension <paramref name="dim"/> at <paramref name="index"/> (int64), copied.</summary>
        public Tensor index_select(long dim, Tensor index)
        {
            var c = new OpCall(Aten.index_select);
            c.Tensor(this);
            c.Int(dim);
            c.Tensor(index);
            return c.InvokeTensor();
        }

        /// <summary>Advanced indexing: one index tensor (int64, or bool as a mask) per leading dimension; null skips a dimension.</summary>
        public Tensor index(params Tensor?[] indices)
        {
            var c = new OpCall(Aten.index);
            c.Tensor(this);
            c.Tensors(indices);
            return c.InvokeTensor();
        }

        /// <summary>Writes <paramref name="values"/> at <paramref name="indices"/> (accumulating when asked).</summary>
        public Tensor index_put_(Tensor?[] indices, Tensor values, bool accumulate = false)
        {
            var c = new OpCall(Aten.index_put_);
            c.Tensor(this);
            c.Tensors(indices);
            c.Tensor(values);
            c.Bool(accumulate);
            return c.InvokeInPlace(this);
        }

        /// <summary>
        /// <c>t[i, j, ...]</c> selects along the leading dimensions (negative indices count from the end);
        /// <c>t[mask]</c> with a bool tensor picks the masked elements, and assigning to it writes them.
        /// </summary>
        public Tensor this[params long[] indices]
        {
            get
            {
                if (indices.Length == 0) return alias();
                var result = select(0, indices[0]);
                for (int k = 1; k < indices.Length; k++)
                {
                    var next = result.select(0, indices[k]);
                    result.Dispose();
                    result = next;
                }
                return result;
            }
            set
            {
                using var target = this[indices];
                target.copy_(value);
            }
        }

        /// <summary>Advanced indexing by one tensor (int64 indices or a bool mask) on the first dimension.</summary>
        public Tensor this[Tensor index]
        {
            get => this.index(index);
            set => index_put_(new Tensor?[] { index }, value);
        }

        /// <summary>Elements where <paramref name="mask"/> is true, as a 1-D tensor.</summary>
        public Tensor masked_select(Tensor mask) => Ops.Binary(Aten.masked_select, this, mask);

        /// <summary>A copy with <paramref name="value"/> where <paramref name="mask"/> is true.</summary>
        public Tensor masked_fill(Tensor mask, Scalar value)
        {
            var c = new OpCall(Aten.masked_fill);
            c.Tensor(this);
            c.Tensor(mask);
            c.Scalar(value);
            return c.InvokeTensor();
        }

        /// <summary>Writes <paramref name="value"/> where <paramref name="mask"/> is true.</summary>
        public Tensor masked_fill_(Tensor mask, Scalar value)
        {
            var c = new OpCall(Aten.masked_fill_);
            c.Tensor(this);
            c.Tensor(mask);
            c.Scalar(value);
            return c.InvokeInPlace(this);
        }

        /// <summary>Gathers values along <paramref name="dim"/> at <paramref name="index"/>.</summary>
        public Tensor gather(long dim, Tensor index)
        {
            var c = new OpCall(Aten.gather);
            c.Tensor(this);
            c.Int(dim);
            c.Tensor(index);
            return c.InvokeTensor();
        }

        /// <summary>Indices of the non-zero elements, one row per element.</summary>
        public Tensor nonzero() => Ops.Unary(Aten.nonzero, this);

        /// <summary>Splits into pieces of <paramref name="split_size"/> along <paramref name="dim"/> (the last may be smaller).</summary>
        public Tensor[] split(long split_size, long dim = 0)
        {
            var c = new OpCall(Aten.split);
            c.Tensor(this);
            c.Int(split_size);
            c.Int(dim);
            return c.Invoke().TensorList();
        }

        /// <summary>Splits into pieces of the given sizes along <paramref name="dim"/>.</summary>
        public Tensor[] split(long[] split_sizes, long dim = 0)
        {
            var c = new OpCall(Aten.split_with_sizes);
            c.Tensor(this);
            c.Ints(split_sizes);
            c.Int(dim);
            return c.Invoke().TensorList();
        }

        /// <summary>Splits into <paramref name="chunks"/> nearly equal pieces along <paramref name="dim"/>.</summary>
        public Tensor[] chunk(long chunks, long dim = 0)
        {
            var c = new OpCall(Aten.chunk);
            c.Tensor(this);
            c.Int(chunks);
            c.Int(dim);
            return c.Invoke().TensorList();
        }

        /// <summary>Removes dimension <paramref name="dim"/>, returning each of its slices.</summary>
        public Tensor[] unbind(long dim = 0) => Invoke(Aten.unbind, dim).TensorList();

        private OpResults Invoke(AtenOp op, long value)
        {
            var c = new OpCall(op);
            c.Tensor(this);
            c.Int(value);
            return c.Invoke();
        }
    }
}
