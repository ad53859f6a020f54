using System.Runtime.InteropServices;
using FastSeg.Data.Interop;
using FastSeg.Torch;

namespace FastSeg.Data;

/// <summary>
/// A decoded image: height x width x channels elements in one contiguous native buffer (HWC, row-major), 8-bit or
/// 16-bit unsigned, with colour in RGB order. The pixels live in native memory owned by the native image library;
/// <see cref="Dispose"/> frees them (the finalizer does so as a last resort). Operations return new images; only
/// <see cref="Adjust(ColorAdjustment, double)"/> changes pixels in place. An image is not thread-safe, but
/// different images may be used on different threads at once.
/// </summary>
public sealed class Image : IDisposable
{
    private static long s_live;
    private readonly Handle _handle;

    private Image(IntPtr handle)
    {
        _handle = new Handle(handle);
        Interlocked.Increment(ref s_live);
        ImageNative.Check(NativeMethods.fs_image_info_get(handle, out var info));
        Width = info.Width;
        Height = info.Height;
        Channels = info.Channels;
        Depth = (ImageDepth)info.Depth;
        ByteCount = info.NBytes;
        _handle.Pressure = info.NBytes;
        if (info.NBytes > 0) GC.AddMemoryPressure(info.NBytes);
    }

    /// <summary>Creates a zero-filled image.</summary>
    public Image(int width, int height, int channels, ImageDepth depth = ImageDepth.UInt8)
        : this(Create(width, height, channels, depth))
    {
    }

    private static IntPtr Create(int width, int height, int channels, ImageDepth depth)
    {
        ImageNative.Check(NativeMethods.fs_image_create(height, width, channels, (int)depth, out var h));
        return h;
    }

    internal static Image FromHandle(IntPtr handle) => new(handle);

    /// <summary>How many images are alive (not yet disposed or finalized) in this process; for leak checks.</summary>
    public static long LiveCount => Interlocked.Read(ref s_live);

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Channels per pixel: 1 (grey or mask), 3 (RGB) or 4 (RGBA).</summary>
    public int Channels { get; }

    /// <summary>The element type.</summary>
    public ImageDepth Depth { get; }

    /// <summary>Bytes of pixel data (width x height x channels x element size).</summary>
    public long ByteCount { get; }

    /// <summary>Bytes per element: 1 or 2.</summary>
    public int ElementSize => Depth == ImageDepth.UInt16 ? 2 : 1;

    /// <summary>Whether the image has been disposed.</summary>
    public bool IsDisposed => _handle.IsClosed;

    internal IntPtr NativeHandle
    {
        get
        {
            if (_handle.IsClosed) throw new ObjectDisposedException(nameof(Image), "the image has been disposed");
            return _handle.DangerousGetHandle();
        }
    }

    private IntPtr DataPointer
    {
        get
        {
            ImageNative.Check(NativeMethods.fs_image_info_get(NativeHandle, out var info));
            return info.Data;
        }
    }

    /// <summary>The 8-bit elements (HWC order). Valid while the image lives; do not keep the span past Dispose.</summary>
    public unsafe Span<byte> Pixels
    {
        get
        {
            if (Depth != ImageDepth.UInt8) throw new InvalidOperationException("the image is 16-bit; use Pixels16");
            return new Span<byte>((void*)DataPointer, checked((int)ByteCount));
        }
    }

    /// <summary>The 16-bit elements (HWC order). Valid while the image lives.</summary>
    public unsafe Span<ushort> Pixels16
    {
        get
        {
            if (Depth != ImageDepth.UInt16) throw new InvalidOperationException("the image is 8-bit; use Pixels");
            return new Span<ushort>((void*)DataPointer, checked((int)(ByteCount / 2)));
        }
    }

    /// <summary>The element at column <paramref name="x"/>, row <paramref name="y"/>, channel <paramref name="channel"/>.</summary>
    public int this[int x, int y, int channel = 0]
    {
        get
        {
            if ((uint)x >= (uint)Width || (uint)y >= (uint)Height || (uint)channel >= (uint)Channels)
                throw new ArgumentOutOfRangeException(nameof(x), $"({x}, {y}, {channel}) is outside a {Describe()} image");
            int k = (y * Width + x) * Channels + channel;
            return Depth == ImageDepth.UInt8 ? Pixels[k] : Pixels16[k];
        }
    }

    /// <summary>Copies 8-bit HWC pixels into a new image.</summary>
    public static Image FromPixels(ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        var image = new Image(width, height, channels);
        if (pixels.Length != image.ByteCount)
        {
            image.Dispose();
            throw new ArgumentException($"a {width}x{height}x{channels} image needs {width * height * channels} bytes, got {pixels.Length}", nameof(pixels));
        }
        pixels.CopyTo(image.Pixels);
        return image;
    }

    /// <summary>Copies 16-bit HWC elements into a new image.</summary>
    public static Image FromPixels(ReadOnlySpan<ushort> pixels, int width, int height, int channels)
    {
        var image = new Image(width, height, channels, ImageDepth.UInt16);
        if (pixels.Length * 2L != image.ByteCount)
        {
            image.Dispose();
            throw new ArgumentException($"a {width}x{height}x{channels} image needs {width * height * channels} elements, got {pixels.Length}", nameof(pixels));
        }
        pixels.CopyTo(image.Pixels16);
        return image;
    }

    /// <summary>
    /// Reads and decodes a PNG or JPEG file (or any format OpenCV reads). PNG and JPEG files are checked for
    /// completeness first, so a truncated file fails instead of decoding to a partly grey image. EXIF orientation is
    /// ignored: pixels are used as stored, which keeps images aligned with their masks.
    /// </summary>
    /// <exception cref="ImageException">The file is missing, unreadable, truncated or not an image; the message names it.</exception>
    public static Image Read(string path, ImageReadMode mode = ImageReadMode.Color)
    {
        ArgumentNullException.ThrowIfNull(path);
        ImageNative.Check(NativeMethods.fs_image_decode_file(path, (int)mode, out var h));
        return new Image(h);
    }

    /// <summary>Decodes an encoded image held in memory.</summary>
    public static unsafe Image Decode(ReadOnlySpan<byte> encoded, ImageReadMode mode = ImageReadMode.Color)
    {
        IntPtr h;
        fixed (byte* p = encoded) ImageNative.Check(NativeMethods.fs_image_decode_bytes(p, encoded.Length, (int)mode, out h));
        return new Image(h);
    }

    /// <summary>Encodes the image. <paramref name="quality"/>: JPEG quality 0–100 or PNG compression 0–9; -1 = OpenCV's default.</summary>
    public byte[] Encode(ImageFormat format = ImageFormat.Png, int quality = -1)
    {
        ImageNative.Check(NativeMethods.fs_image_encode(NativeHandle, format == ImageFormat.Png ? ".png" : ".jpg", quality,
            out var buffer, out var data, out var n));
        try
        {
            var bytes = new byte[n];
            Marshal.Copy(data, bytes, 0, checked((int)n));
            return bytes;
        }
        finally
        {
            NativeMethods.fs_buffer_free(buffer);
        }
    }

    /// <summary>Writes the image; the format follows the extension (.png, .jpg). <paramref name="quality"/> as in <see cref="Encode"/>.</summary>
    public void Save(string path, int quality = -1)
    {
        ArgumentNullException.ThrowIfNull(path);
        ImageNative.Check(NativeMethods.fs_image_write_file(NativeHandle, path, quality));
    }

    /// <summary>A deep copy.</summary>
    public Image Clone() => Wrap(NativeMethods.fs_image_clone(NativeHandle, out var h), h);

    /// <summary>Resizes to <paramref name="width"/> x <paramref name="height"/> with cv::resize.</summary>
    public Image Resize(int width, int height, Interpolation interpolation = Interpolation.Linear) =>
        Wrap(NativeMethods.fs_image_resize(NativeHandle, width, height, (int)interpolation, out var h), h);

    /// <summary>Converts between colour spaces.</summary>
    public Image ConvertColor(ColorConversion conversion) =>
        Wrap(NativeMethods.fs_image_convert_color(NativeHandle, (int)conversion, out var h), h);

    /// <summary>Mirrors the image.</summary>
    public Image Flip(FlipMode mode) => Wrap(NativeMethods.fs_image_flip(NativeHandle, (int)mode, out var h), h);

    /// <summary>Copies the window at (<paramref name="x"/>, <paramref name="y"/>); it must lie inside the image.</summary>
    public Image Crop(int x, int y, int width, int height) =>
        Wrap(NativeMethods.fs_image_crop(NativeHandle, x, y, width, height, out var h), h);

    /// <summary>Pads each side; <paramref name="value"/> (one entry per channel, or one for all) is used by <see cref="BorderMode.Constant"/>.</summary>
    public unsafe Image Pad(int top, int bottom, int left, int right, BorderMode border = BorderMode.Constant,
        params double[] value)
    {
        var v = Expand(value);
        IntPtr h;
        fixed (double* p = v) ImageNative.Check(NativeMethods.fs_image_pad(NativeHandle, top, bottom, left, right, (int)border, p, out h));
        return new Image(h);
    }

    /// <summary>Applies a photometric adjustment in place (8-bit, 1 or 3 channels), with torchvision's uint8 semantics.</summary>
    public void Adjust(ColorAdjustment adjustment, double factor) =>
        ImageNative.Check(NativeMethods.fs_image_adjust(NativeHandle, (int)adjustment, factor));

    /// <summary>Counts the values of a 1-channel image in a window (values ≥ <paramref name="bins"/> are not counted).</summary>
    public unsafe long[] Histogram(int bins = 256, int x = 0, int y = 0, int width = -1, int height = -1)
    {
        var counts = new long[bins];
        fixed (long* p = counts)
            ImageNative.Check(NativeMethods.fs_image_histogram(NativeHandle, x, y, width < 0 ? Width - x : width,
                height < 0 ? Height - y : height, p, bins));
        return counts;
    }

    /// <summary>
    /// The image as a CHW float32 tensor (one block copy), with <c>(v - mean[c] * maxPixelValue) / (std[c] * maxPixelValue)</c>
    /// when <paramref name="mean"/> and <paramref name="std"/> are given, else the raw values.
    /// </summary>
    public torch.Tensor ToTensor(double[]? mean = null, double[]? std = null, double maxPixelValue = 255.0)
    {
        var norm = mean is null && std is null ? null : new Normalization(mean ?? new double[Channels], std ?? Ones(Channels), maxPixelValue);
        var buffer = new float[(long)Width * Height * Channels];
        CopyToChw(buffer, norm);
        return torch.tensor<float>(buffer, new long[] { Channels, Height, Width });
    }

    /// <summary>A 1-channel image (a mask) as an HW int64 tensor.</summary>
    public torch.Tensor ToMaskTensor()
    {
        var buffer = new long[(long)Width * Height];
        CopyToInt64(buffer);
        return torch.tensor<long>(buffer, new long[] { Height, Width });
    }

    /// <summary>Writes CHW float32 values into <paramref name="destination"/> (channels x height x width elements).</summary>
    public unsafe void CopyToChw(Span<float> destination, Normalization? normalization = null)
    {
        var mean = new float[Math.Max(Channels, 4)];
        var inv = new float[Math.Max(Channels, 4)];
        for (int c = 0; c < Channels; c++)
        {
            mean[c] = normalization is null ? 0f : (float)normalization.PixelMean(c);
            inv[c] = normalization is null ? 1f : (float)(1.0 / normalization.PixelStd(c));
        }
        fixed (float* d = destination)
        fixed (float* m = mean)
        fixed (float* s = inv)
            ImageNative.Check(NativeMethods.fs_image_to_chw_f32(NativeHandle, m, s, d, destination.Length));
    }

    /// <summary>Writes the elements of a 1-channel image as int64 into <paramref name="destination"/>.</summary>
    public unsafe void CopyToInt64(Span<long> destination)
    {
        fixed (long* d = destination) ImageNative.Check(NativeMethods.fs_image_to_i64(NativeHandle, d, destination.Length));
    }

    internal unsafe Image Warp(in FsAxisPlan x, in FsAxisPlan y, Interpolation interpolation, BorderMode border, double[] value)
    {
        var v = Expand(value);
        FsAxisPlan px = x, py = y;
        IntPtr h;
        fixed (double* p = v) ImageNative.Check(NativeMethods.fs_image_warp_axes(NativeHandle, &px, &py, (int)interpolation, (int)border, p, out h));
        return new Image(h);
    }

    /// <summary>"2048x1024x3 UInt8".</summary>
    public string Describe() => $"{Width}x{Height}x{Channels} {Depth}";

    /// <inheritdoc />
    public override string ToString() => IsDisposed ? "Image (disposed)" : $"Image {Describe()}";

    /// <summary>Frees the pixels.</summary>
    public void Dispose() => _handle.Dispose();

    /// <summary>The number of threads OpenCV uses inside one image operation (0 or 1: none).</summary>
    public static int OpenCvThreads
    {
        get
        {
            ImageNative.Check(NativeMethods.fs_image_get_num_threads(out var n));
            return n;
        }
        set => ImageNative.Check(NativeMethods.fs_image_set_num_threads(value));
    }

    private static Image Wrap(int status, IntPtr handle)
    {
        ImageNative.Check(status);
        return new Image(handle);
    }

    private static double[] Ones(int n)
    {
        var a = new double[n];
        Array.Fill(a, 1.0);
        return a;
    }

    internal static double[] Expand(double[]? value)
    {
        var v = new double[4];
        if (value is null || value.Length == 0) return v;
        for (int c = 0; c < 4; c++) v[c] = value.Length == 1 ? value[0] : c < value.Length ? value[c] : 0.0;
        return v;
    }

    private sealed class Handle : SafeHandle
    {
        public Handle(IntPtr h) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(h);

        public long Pressure { get; set; }

        public override bool IsInvalid => handle == IntPtr.Zero;

        protected override bool ReleaseHandle()
        {
            NativeMethods.fs_image_free(handle);
            if (Pressure > 0) GC.RemoveMemoryPressure(Pressure);
            Interlocked.Decrement(ref s_live);
            return true;
        }
    }
}
