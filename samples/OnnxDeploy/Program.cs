using System.Diagnostics;
using System.Globalization;
using OnnxDeploy;

// Segments images with a network exported by `fastseg export`, using ONNX Runtime only (no FastSeg, no libtorch):
//   OnnxDeploy <model.onnx> <image or folder> <output folder> [--alpha 0.5] [--threads N]
// writes {name}_trainIds.png, {name}_color.png and {name}_overlay.png per image, as `fastseg predict` does.
string[] imageExtensions = [".png", ".jpg", ".jpeg", ".bmp"];
var positional = new List<string>();
double alpha = 0.5;
int threads = 0;
for (int k = 0; k < args.Length; k++)
{
    if (args[k] == "--alpha" && k + 1 < args.Length) alpha = double.Parse(args[++k], CultureInfo.InvariantCulture);
    else if (args[k] == "--threads" && k + 1 < args.Length) threads = int.Parse(args[++k], CultureInfo.InvariantCulture);
    else positional.Add(args[k]);
}
if (positional.Count != 3 || !(alpha is >= 0 and <= 1))
{
    Console.Error.WriteLine("usage: OnnxDeploy <model.onnx> <image or folder> <output folder> [--alpha 0..1] [--threads N]");
    return 2;
}
var (modelPath, input, output) = (positional[0], positional[1], positional[2]);
string[] images = File.Exists(input)
    ? [input]
    : Directory.Exists(input)
        ? Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
            .Where(f => imageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()) && !Path.GetFullPath(f).StartsWith(Path.GetFullPath(output), StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToArray()
        : [];
if (images.Length == 0)
{
    Console.Error.WriteLine($"OnnxDeploy: no images at '{input}'");
    return 1;
}
try
{
    using var segmenter = new OnnxSegmenter(modelPath, threads);
    Console.WriteLine($"{modelPath}: {segmenter.ModelName}, " +
                      (segmenter.FixedSize is { } s ? $"fixed input {s.Width}x{s.Height} (other sizes are resized)" : $"any size (padded to multiples of {segmenter.InputMultiple})"));
    foreach (var path in images)
    {
        var watch = Stopwatch.StartNew();
        var (rgb, width, height) = Pictures.Read(path);
        var ids = segmenter.Segment(rgb, width, height);
        // As fastseg predict: Cityscapes colours for 19 classes, generated ones otherwise.
        var palette = segmenter.NumClasses == Pictures.Cityscapes.Count ? Pictures.Cityscapes : Pictures.Generated(segmenter.NumClasses);
        // As fastseg predict: the pictures of an image in a subfolder of the input go to the same subfolder of the output.
        var folder = File.Exists(input) ? output : Path.Combine(output, Path.GetRelativePath(input, Path.GetDirectoryName(path)!));
        var written = Pictures.Save(folder, Path.GetFileNameWithoutExtension(path), rgb, ids, width, height, palette, alpha);
        Console.WriteLine($"{path} ({width}x{height}) -> {written[0]} ({watch.ElapsedMilliseconds} ms)");
    }
    return 0;
}
catch (Exception e) when (e is IOException or InvalidDataException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
{
    Console.Error.WriteLine($"OnnxDeploy: {e.Message}");
    return 1;
}
