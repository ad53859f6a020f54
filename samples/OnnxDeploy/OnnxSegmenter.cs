using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace OnnxDeploy;

/// <summary>
/// Segments RGB images of any size with a network exported by <c>fastseg export</c>, in ONNX Runtime only. The steps
/// are those of FastSeg's SegmentationPredictor in pad mode: ImageNet normalisation <c>(v - 255·mean) / (255·std)</c>
/// in float32; a file with dynamic height and width gets the image padded at the bottom and right with zeros (the mean
/// colour) up to the network's input multiple and the logits cropped back; a file with a fixed size gets the image
/// resized (bilinear) to that size and the logits resized back. The class of a pixel is the arg-max of its logits.
/// </summary>
public sealed class OnnxSegmenter : IDisposable
{
    private static readonly float[] PixelMean = [(float)(0.485 * 255.0), (float)(0.456 * 255.0), (float)(0.406 * 255.0)];
    private static readonly float[] PixelStd = [(float)(0.229 * 255.0), (float)(0.224 * 255.0), (float)(0.225 * 255.0)];

    private readonly InferenceSession _session;
    private readonly string _inputName;

    /// <summary>Opens <paramref name="modelPath"/> with <paramref name="threads"/> intra-op threads (0: ONNX Runtime's default).</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The network does not take one (N, 3, H, W) float image.</exception>
    public OnnxSegmenter(string modelPath, int threads = 0)
    {
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"{modelPath}: no such ONNX file", modelPath);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (threads > 0) options.IntraOpNumThreads = threads;
        _session = new InferenceSession(modelPath, options);
        var input = _session.InputMetadata.Single();
        _inputName = input.Key;
        var dims = input.Value.Dimensions;
        if (dims.Length != 4 || (dims[1] > 0 && dims[1] != 3) || input.Value.ElementType != typeof(float))
            throw new InvalidDataException($"{modelPath}: expected one float input (N, 3, H, W), got '{input.Key}' [{string.Join(", ", dims)}] of {input.Value.ElementType.Name}");
        FixedSize = dims[2] > 0 && dims[3] > 0 ? (dims[2], dims[3]) : null;
        var metadata = _session.ModelMetadata.CustomMetadataMap;
        InputMultiple = metadata.TryGetValue("fastseg.input_multiple", out var m) ? int.Parse(m, CultureInfo.InvariantCulture) : 32;
        ModelName = metadata.TryGetValue("fastseg.model", out var name) ? name : Path.GetFileNameWithoutExtension(modelPath);
        var outputDims = _session.OutputMetadata.First().Value.Dimensions;
        NumClasses = outputDims.Length == 4 && outputDims[1] > 0 ? outputDims[1]
            : metadata.TryGetValue("fastseg.num_classes", out var n) ? int.Parse(n, CultureInfo.InvariantCulture)
            : throw new InvalidDataException($"{modelPath}: the output's class count is not fixed and the file does not name it");
    }

    /// <summary>The number of classes (the logits' channels).</summary>
    public int NumClasses { get; }

    /// <summary>The network's input size when the file fixes it; null when it takes any height and width.</summary>
    public (int Height, int Width)? FixedSize { get; }

    /// <summary>Heights and widths must be multiples of this (from the file's <c>fastseg.input_multiple</c>, else 32).</summary>
    public int InputMultiple { get; }

    /// <summary>The zoo name the file was exported from (its <c>fastseg.model</c> metadata), else the file name.</summary>
    public string ModelName { get; }

    /// <summary>Class ids (row-major, one byte a pixel) of an 8-bit RGB image (interleaved, <paramref name="width"/>·<paramref name="height"/>·3 bytes).</summary>
    public byte[] Segment(ReadOnlySpan<byte> rgb, int width, int height)
    {
        if (width < 1 || height < 1 || rgb.Length != width * height * 3)
            throw new ArgumentException($"expected {width}x{height} RGB pixels ({(long)width * height * 3} bytes), got {rgb.Length} bytes", nameof(rgb));
        var image = Normalize(rgb, width, height);
        int netH, netW;
        float[] input;
        if (FixedSize is { } size)
        {
            (netH, netW) = size;
            input = netH == height && netW == width ? image : Bilinear.Resize(image, 3, height, width, netH, netW);
        }
        else
        {
            netH = (height + InputMultiple - 1) / InputMultiple * InputMultiple;
            netW = (width + InputMultiple - 1) / InputMultiple * InputMultiple;
            input = Pad(image, height, width, netH, netW);
        }
        var (logits, classes, outH, outW) = Run(input, netH, netW);
        if (FixedSize is not null && (outH != height || outW != width))
        {
            logits = Bilinear.Resize(logits, classes, outH, outW, height, width);
            (outH, outW) = (height, width);
        }
        return ArgMax(logits, classes, outH, outW, height, width);
    }

    // (C, H, W) float32, normalised per channel as FastSeg's predictor does.
    private static float[] Normalize(ReadOnlySpan<byte> rgb, int width, int height)
    {
        int plane = width * height;
        var x = new float[3 * plane];
        for (int i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++)
                x[c * plane + i] = (rgb[3 * i + c] - PixelMean[c]) / PixelStd[c];
        return x;
    }

    private static float[] Pad(float[] image, int height, int width, int netH, int netW)
    {
        if (netH == height && netW == width) return image;
        var padded = new float[3 * netH * netW];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < height; y++)
                Array.Copy(image, (c * height + y) * width, padded, (c * netH + y) * netW, width);
        return padded;
    }

    private (float[] Logits, int Classes, int Height, int Width) Run(float[] input, int height, int width)
    {
        var tensor = new DenseTensor<float>(input, [1, 3, height, width]);
        using var results = _session.Run([NamedOnnxValue.CreateFromTensor(_inputName, tensor)]);
        var output = results.First().AsTensor<float>();
        var d = output.Dimensions;
        if (d.Length != 4 || d[0] != 1)
            throw new InvalidDataException($"the network returned shape [{string.Join(", ", d.ToArray())}], expected (1, classes, H, W)");
        return (output.ToArray(), d[1], d[2], d[3]);
    }

    // The arg-max over classes (the first of equal maxima) of the top-left height x width pixels.
    private static byte[] ArgMax(float[] logits, int classes, int outH, int outW, int height, int width)
    {
        if (classes > 256) throw new InvalidDataException($"{classes} classes do not fit an 8-bit id image");
        var ids = new byte[height * width];
        int plane = outH * outW;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int at = y * outW + x, best = 0;
                float top = logits[at];
                for (int k = 1; k < classes; k++)
                {
                    float v = logits[k * plane + at];
                    if (v > top || (float.IsNaN(v) && !float.IsNaN(top))) { top = v; best = k; }
                }
                ids[y * width + x] = (byte)best;
            }
        return ids;
    }

    /// <summary>Closes the ONNX Runtime session.</summary>
    public void Dispose() => _session.Dispose();
}

/// <summary>Bilinear resizing of (C, H, W) float planes with PyTorch's <c>interpolate(..., align_corners=False)</c> sampling.</summary>
public static class Bilinear
{
    /// <summary>Resizes <paramref name="channels"/> planes of <paramref name="inH"/>x<paramref name="inW"/> to <paramref name="outH"/>x<paramref name="outW"/>.</summary>
    public static float[] Resize(float[] source, int channels, int inH, int inW, int outH, int outW)
    {
        var result = new float[channels * outH * outW];
        var (y0, y1, wy) = Taps(inH, outH);
        var (x0, x1, wx) = Taps(inW, outW);
        for (int c = 0; c < channels; c++)
        {
            int src = c * inH * inW, dst = c * outH * outW;
            for (int y = 0; y < outH; y++)
            {
                int r0 = src + y0[y] * inW, r1 = src + y1[y] * inW;
                float ly = wy[y], hy = 1 - ly;
                for (int x = 0; x < outW; x++)
                {
                    float lx = wx[x], hx = 1 - lx;
                    result[dst + y * outW + x] = hy * (hx * source[r0 + x0[x]] + lx * source[r0 + x1[x]])
                                               + ly * (hx * source[r1 + x0[x]] + lx * source[r1 + x1[x]]);
                }
            }
        }
        return result;
    }

    // For each output index: the two source indices and the weight of the second.
    private static (int[] Low, int[] High, float[] Weight) Taps(int input, int output)
    {
        var low = new int[output];
        var high = new int[output];
        var weight = new float[output];
        float scale = (float)input / output;
        for (int i = 0; i < output; i++)
        {
            float s = Math.Max(scale * (i + 0.5f) - 0.5f, 0f);
            int i0 = Math.Min((int)s, input - 1);
            low[i] = i0;
            high[i] = Math.Min(i0 + 1, input - 1);
            weight[i] = s - i0;
        }
        return (low, high, weight);
    }
}
