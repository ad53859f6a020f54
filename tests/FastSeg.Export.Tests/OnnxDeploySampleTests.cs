using FastSeg.Models.Inference;
using OnnxDeploy;
using StbImageSharp;
using StbImageWriteSharp;
using Xunit;
using static FastSeg.Export.Tests.OnnxTestSupport;
using static FastSeg.Torch.torch;

namespace FastSeg.Export.Tests;

/// <summary>
/// samples/OnnxDeploy (ONNX Runtime only) segments an image into the same class ids as FastSeg's
/// SegmentationPredictor on the network the file was exported from, and writes the pictures fastseg predict's renderer
/// makes of them.
/// </summary>
public class OnnxDeploySampleTests
{
    // An RGB image with edges and gradients, so that several classes win somewhere.
    private static byte[] Picture(int width, int height)
    {
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = 3 * (y * width + x);
                rgb[i] = (byte)(x * 255 / width);
                rgb[i + 1] = (byte)((x / 8 + y / 8) % 2 == 0 ? 200 : 40);
                rgb[i + 2] = (byte)(127 + 120 * Math.Sin(0.2 * y));
            }
        return rgb;
    }

    private static byte[] PredictorIds(FastSeg.Models.SegmentationModel model, byte[] rgb, int width, int height, PredictorOptions options)
    {
        using var scope = NewDisposeScope();
        var pixels = tensor(rgb, [height, width, 3]).permute(2, 0, 1);
        var ids = new SegmentationPredictor(model, options).Predict(pixels);
        return ids.to_type(ScalarType.Byte).contiguous().ToArray<byte>();
    }

    private static void AssertSameIds(byte[] expected, byte[] actual, double allowedFraction, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        int differ = expected.Where((id, k) => id != actual[k]).Count();
        Assert.True(expected.Distinct().Count() > 1, $"{what}: FastSeg predicts a single class, the comparison would be weak");
        Assert.True(differ <= allowedFraction * expected.Length, $"{what}: {differ} of {expected.Length} pixels get another class than FastSeg's");
    }

    [Fact]
    public void DynamicExportPadsLikeThePredictorAndWritesTheSamePictures()
    {
        using var model = Build("erfnet");
        int width = 75, height = 45; // not multiples of 8: padded and cropped back
        var folder = Directory.CreateTempSubdirectory("fastseg-onnxdeploy-").FullName;
        try
        {
            var onnx = Path.Combine(folder, "erfnet.onnx");
            OnnxExporter.Export(model, onnx, new OnnxExportOptions { InputShape = Size(model, 64, 128), DynamicHeightWidth = true });
            var rgb = Picture(width, height);
            var image = Path.Combine(folder, "street.png");
            using (var stream = File.Create(image))
                new ImageWriter().WritePng(rgb, width, height, StbImageWriteSharp.ColorComponents.RedGreenBlue, stream);

            using var segmenter = new OnnxSegmenter(onnx, threads: 2);
            Assert.Null(segmenter.FixedSize);
            Assert.Equal(model.InputMultiple, segmenter.InputMultiple);
            Assert.Equal("erfnet", segmenter.ModelName);
            var (read, w, h) = Pictures.Read(image);
            Assert.Equal(rgb, read);
            var ids = segmenter.Segment(read, w, h);
            // The same arithmetic on the same input: only logits that tie within float rounding may pick another class.
            AssertSameIds(PredictorIds(model, rgb, width, height, new PredictorOptions()), ids, 0.001, "erfnet, pad mode");

            var written = Pictures.Save(Path.Combine(folder, "out"), "street", read, ids, w, h, Pictures.Generated(segmenter.NumClasses), 0.3);
            Assert.Equal(["street_trainIds.png", "street_color.png", "street_overlay.png"], written.Select(Path.GetFileName));
            // fastseg predict's pictures of the same ids: its renderer, palette and overlay rounding.
            using var scope = NewDisposeScope();
            using var picture = new FastSeg.Data.Image(width, height, 3);
            rgb.CopyTo(picture.Pixels);
            using var rendered = FastSeg.Data.SegmentationRenderer.Render(picture, tensor(ids, [height, width]),
                FastSeg.Data.Palette.Generated(segmenter.NumClasses), 0.3);
            byte[] Decode(string path, StbImageSharp.ColorComponents components)
            {
                using var stream = File.OpenRead(path);
                return ImageResult.FromStream(stream, components).Data;
            }
            Assert.Equal(rendered.ClassIds.Pixels.ToArray(), Decode(written[0], StbImageSharp.ColorComponents.Grey));
            Assert.Equal(rendered.Color.Pixels.ToArray(), Decode(written[1], StbImageSharp.ColorComponents.RedGreenBlue));
            Assert.Equal(rendered.Overlay.Pixels.ToArray(), Decode(written[2], StbImageSharp.ColorComponents.RedGreenBlue));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void FixedSizeExportResizesLikeThePredictor()
    {
        using var model = Build("bisenetv2");
        var size = Size(model, 64, 128);
        var folder = Directory.CreateTempSubdirectory("fastseg-onnxdeploy-").FullName;
        try
        {
            var onnx = Path.Combine(folder, "bisenetv2.onnx");
            OnnxExporter.Export(model, onnx, new OnnxExportOptions { InputShape = size });
            using var segmenter = new OnnxSegmenter(onnx, threads: 2);
            Assert.Equal(((int)size[2], (int)size[3]), segmenter.FixedSize);
            int width = 100, height = 50;
            var rgb = Picture(width, height);
            var expected = PredictorIds(model, rgb, width, height, new PredictorOptions
            {
                Mode = InputSizeMode.Resize,
                InferenceSize = ((int)size[2], (int)size[3]),
            });
            // Bilinear resampling written in C# against libtorch's: float rounding differs, so allow a few boundary pixels.
            AssertSameIds(expected, segmenter.Segment(rgb, width, height), 0.01, "bisenetv2, resized to its fixed size");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
