using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using FastSeg.Torch.Interop;

namespace FastSeg.Torch;

public static partial class torch
{
    /// <summary>
    /// A libtorch tensor. It owns one native reference, released by <see cref="Dispose()"/>, by the dispose scope that
    /// was current when it was created, or (as a last resort) by its finalizer. Every operation returns a new Tensor,
    /// including views, which share storage with their source.
    /// </summary>
    public partial class Tensor : IDisposable
    {
        private readonly TensorHandle _handle;

        internal Tensor(IntPtr handle)
        {
            if (handle == IntPtr.Zero) throw new ArgumentException("null tensor handle", nameof(handle));
            _handle = new TensorHandle(handle);
            OwningScope = DisposeScope.Current;
            OwningScope?.Add(this);
        }

        internal DisposeScope? OwningScope { get; set; }

        /// <summary>The raw native pointer; throws <see cref="ObjectDisposedException"/> once disposed.</summary>
        internal IntPtr NativeHandle
        {
            get
            {
                if (_handle.IsClosed) throw new ObjectDisposedException(nameof(Tensor), "the tensor has been disposed");
                return _handle.DangerousGetHandle();
            }
        }

        /// <summary>Whether this tensor has been disposed.</summary>
        public bool IsInvalid => _handle.IsClosed;

        /// <summary>Releases the native tensor reference (the storage is freed when no other tensor shares it).</summary>
        public void Dispose()
        {
            if (_handle.IsClosed) return;
            OwningScope?.Remove(this);
            OwningScope = null;
            _handle.Dispose();
        }

        /// <summary>Moves this tensor to the dispose scope outside the current one (or detaches it).</summary>
        public Tensor MoveToOuterDisposeScope() => OwningScope is null ? this : OwningScope.MoveToOuter(this);

        /// <summary>Removes this tensor from any dispose scope: only an explicit Dispose (or the GC) frees it.</summary>
        public Tensor DetachFromDisposeScope() => OwningScope is null ? this : OwningScope.Detach(this);

        private FsTensorInfo Info
        {
            get
            {
                Native.Check(NativeMethods.fs_tensor_info_get(NativeHandle, out var info));
                return info;
            }
        }

        /// <summary>The element type.</summary>
        public ScalarType dtype => (ScalarType)Info.DType;

        /// <summary>The device the tensor lives on.</summary>
        public Device device
        {
            get
            {
                var info = Info;
                return new Device((DeviceType)info.DeviceType, info.DeviceIndex);
            }
        }

        /// <summary>The device type the tensor lives on.</summary>
        public DeviceType device_type => (DeviceType)Info.DeviceType;

        /// <summary>Number of dimensions.</summary>
        public long Dimensions => Info.NDim;

        /// <summary>Number of dimensions.</summary>
        public long dim() => Info.NDim;

        /// <summary>Number of elements.</summary>
        public long numel() => Info.Numel;

        /// <summary>Number of elements.</summary>
        public long NumberOfElements => Info.Numel;

        /// <summary>Bytes per element.</summary>
        public long element_size() => Info.ElementSize;

        /// <summary>The sizes of all dimensions.</summary>
        public unsafe long[] shape
        {
            get
            {
                Span<long> buffer = stackalloc long[16];
                int ndim;
                fixed (long* p = buffer) Native.Check(NativeMethods.fs_tensor_sizes(NativeHandle, p, buffer.Length, out ndim));
                if (ndim <= buffer.Length) return buffer[..ndim].ToArray();
                var sizes = new long[ndim];
                fixed (long* p = sizes) Native.Check(NativeMethods.fs_tensor_sizes(NativeHandle, p, ndim, out _));
                return sizes;
            }
        }

        /// <summary>The sizes of all dimensions.</summary>
        public long[] size() => shape;

        /// <summary>The size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
        public long size(int dim)
        {
            var s = shape;
            int d = dim < 0 ? dim + s.Length : dim;
            if (d < 0 || d >= s.Length)
                throw new ArgumentOutOfRangeException(nameof(dim), dim, $"dimension out of range for a tensor of {s.Length} dimension(s)");
            return s[d];
        }

        /// <summary>The strides of all dimensions, in elements.</summary>
        public unsafe long[] stride()
        {
            Span<long> buffer = stackalloc long[16];
            int ndim;
            fixed (long* p = buffer) Native.Check(NativeMethods.fs_tensor_strides(NativeHandle, p, buffer.Length, out ndim));
            if (ndim <= buffer.Length) return buffer[..ndim].ToArray();
            var strides = new long[ndim];
            fixed (long* p = strides) Native.Check(NativeMethods.fs_tensor_strides(NativeHandle, p, ndim, out _));
            return strides;
        }

        /// <summary>Whether the tensor records operations for autograd. Setting it is allowed on leaves only.</summary>
        public bool requires_grad
        {
            get => Info.RequiresGrad != 0;
            set => Native.Check(NativeMethods.fs_tensor_set_requires_grad(NativeHandle, value ? 1 : 0));
        }

        /// <summary>Sets <see cref="requires_grad"/> and returns this tensor.</summary>
        public Tensor requires_grad_(bool requires = true)
        {
            requires_grad = requires;
            return this;
        }

        /// <summary>Whether the tensor is a leaf of the autograd graph.</summary>
        public bool is_leaf => Info.IsLeaf != 0;

        /// <summary>
        /// The gradient accumulated by <see cref="backward"/>, or null. Each read returns a new Tensor that shares the
        /// gradient's storage; setting null clears it. A tensor set here must match this one in size, dtype and device
        /// (a <see cref="TorchException"/> otherwise), as in PyTorch.
        /// </summary>
        public Tensor? grad
        {
            get
            {
                Native.Check(NativeMethods.fs_tensor_grad(NativeHandle, out var g));
                return g == IntPtr.Zero ? null : new Tensor(g);
            }
            set
            {
                Native.Check(NativeMethods.fs_tensor_set_grad(NativeHandle, value?.NativeHandle ?? IntPtr.Zero));
                GC.KeepAlive(value);
            }
        }

        /// <summary>
        /// Computes the gradient of this tensor with respect to the graph's leaves. A non-scalar tensor needs
        /// <paramref name="gradient"/>. <paramref name="retain_graph"/> defaults to <paramref name="create_graph"/>.
        /// </summary>
        public void backward(Tensor? gradient = null, bool? retain_graph = null, bool create_graph = false)
        {
            int retain = retain_graph is null ? -1 : retain_graph.Value ? 1 : 0;
            Native.Check(NativeMethods.fs_tensor_backward(NativeHandle, gradient?.NativeHandle ?? IntPtr.Zero, retain,
                create_graph ? 1 : 0));
            GC.KeepAlive(gradient);
        }

        /// <summary>
        /// Replaces this tensor's data with <paramref name="data"/>'s (PyTorch's <c>t.data = data</c>): the object and
        /// its autograd identity stay, storage, shape and dtype become <paramref name="data"/>'s.
        /// </summary>
        public void set_data(Tensor data)
        {
            Native.Check(NativeMethods.fs_tensor_set_data(NativeHandle, data.NativeHandle));
            GC.KeepAlive(data);
        }

        /// <summary>A new Tensor object referring to the same native tensor (same storage, same autograd identity).</summary>
        public Tensor alias()
        {
            Native.Check(NativeMethods.fs_tensor_alias(NativeHandle, out var a));
            return new Tensor(a);
        }

        /// <summary>Whether both objects refer to the same native tensor.</summary>
        public bool is_same(Tensor other)
        {
            Native.Check(NativeMethods.fs_tensor_same(NativeHandle, other.NativeHandle, out var same));
            GC.KeepAlive(other);
            return same != 0;
        }

        /// <summary>Copies the elements, in row-major order, into <paramref name="destination"/>.</summary>
        /// <typeparam name="T">Must match <see cref="dtype"/> (float for Float32, long for Int64, ...).</typeparam>
        public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
        {
            CheckElementType<T>();
            long n = numel();
            if (destination.Length != n)
                throw new ArgumentException($"the destination holds {destination.Length} elements but the tensor {n}", nameof(destination));
            fixed (T* p = destination) Native.Check(NativeMethods.fs_tensor_copy_to(NativeHandle, p, n * sizeof(T)));
        }

        /// <summary>The elements, in row-major order, as a new array.</summary>
        /// <typeparam name="T">Must match <see cref="dtype"/> (float for Float32, long for Int64, ...).</typeparam>
        public T[] ToArray<T>() where T : unmanaged
        {
            var result = new T[numel()];
            CopyTo<T>(result);
            return result;
        }

        /// <summary>The elements as a new array (TorchSharp's <c>data&lt;T&gt;()</c>, copied).</summary>
        public T[] data<T>() where T : unmanaged => ToArray<T>();

        /// <summary>The value of a one-element tensor. <typeparamref name="T"/> may differ from the dtype: the value is converted.</summary>
        public T item<T>() where T : unmanaged
        {
            if (numel() != 1) throw new InvalidOperationException($"item() needs a tensor with one element, this one has shape {ShapeString(shape)}");
            var wanted = ScalarTypeOf<T>();
            if (wanted == dtype) return ToArray<T>()[0];
            using var converted = to_type(wanted);
            return converted.ToArray<T>()[0];
        }

        private void CheckElementType<T>() where T : unmanaged
        {
            var wanted = ScalarTypeOf<T>();
            var actual = dtype;
            if (wanted != actual)
                throw new ArgumentException($"the tensor's dtype is {actual} but {typeof(T).Name} elements ({wanted}) were asked for");
        }

        internal static string ShapeString(long[] shape) => "[" + string.Join(", ", shape) + "]";

        /// <summary>Shape, dtype and device, e.g. <c>[2x3], type = Float32, device = cpu</c> (TorchSharp's format).</summary>
        public override string ToString()
        {
            if (IsInvalid) return "Tensor (disposed)";
            var info = Info;
            var dims = string.Join("x", shape);
            return $"[{dims}], type = {(ScalarType)info.DType}, device = {new Device((DeviceType)info.DeviceType, info.DeviceIndex)}";
        }

        /// <summary>The values as text, up to <paramref name="maxElements"/> of them, with shape and dtype.</summary>
        public string ToString(int maxElements)
        {
            var sb = new StringBuilder(ToString());
            using var flat = detach().to_type(ScalarType.Float64).flatten();
            var values = flat.ToArray<double>();
            sb.Append(" [");
            for (int k = 0; k < Math.Min(values.Length, maxElements); k++)
            {
                if (k > 0) sb.Append(", ");
                sb.Append(values[k].ToString("G6", CultureInfo.InvariantCulture));
            }
            if (values.Length > maxElements) sb.Append(", ...");
            sb.Append(']');
            return sb.ToString();
        }
    }

    /// <summary>Creates a tensor from .NET values, copied in one block.</summary>
    /// <param name="data">Elements in row-major order.</param>
    /// <param name="dimensions">The shape; null means a 1-D tensor of <paramref name="data"/>'s length.</param>
    /// <param name="dtype">Convert to this element type after copying (default: the type of <typeparamref name="T"/>).</param>
    /// <param name="device">Move to this device after copying.</param>
    /// <param name="requires_grad">Whether the new tensor is a leaf that records gradients.</param>
    public static unsafe Tensor tensor<T>(ReadOnlySpan<T> data, long[]? dimensions = null, ScalarType? dtype = null,
        Device? device = null, bool requires_grad = false) where T : unmanaged
    {
        var source = ScalarTypeOf<T>();
        long[] shape = dimensions ?? new long[] { data.Length };
        long count = 1;
        foreach (var d in shape) count *= d;
        if (count != data.Length)
            throw new ArgumentException($"shape {Tensor.ShapeString(shape)} needs {count} elements but {data.Length} were given", nameof(data));
        IntPtr handle;
        fixed (T* p = data)
        fixed (long* s = shape)
            Native.Check(NativeMethods.fs_tensor_from_data(p, (long)data.Length * sizeof(T), (int)source, s, shape.Length, out handle));
        var t = new Tensor(handle);
        if ((dtype is not null && dtype.Value != source) || (device is not null && device.type != DeviceType.CPU))
        {
            var converted = t.to(dtype ?? source, device ?? CPU);
            t.Dispose();
            t = converted;
        }
        if (requires_grad) t.requires_grad = true;
        return t;
    }

    /// <summary>Creates a tensor from an array (see <see cref="tensor{T}(ReadOnlySpan{T}, long[], ScalarType?, Device?, bool)"/>).</summary>
    public static Tensor tensor<T>(T[] data, long[]? dimensions = null, ScalarType? dtype = null, Device? device = null,
        bool requires_grad = false) where T : unmanaged =>
        tensor<T>(new ReadOnlySpan<T>(data), dimensions, dtype, device, requires_grad);

    /// <summary>Creates a 0-dimensional tensor holding <paramref name="value"/>.</summary>
    public static Tensor tensor<T>(T value, ScalarType? dtype = null, Device? device = null, bool requires_grad = false)
        where T : unmanaged =>
        tensor<T>(new ReadOnlySpan<T>(in value), Array.Empty<long>(), dtype, device, requires_grad);
}
