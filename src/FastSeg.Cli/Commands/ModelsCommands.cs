using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FastSeg.Models;
using FastSeg.Models.Zoo;
using FastSeg.Torch.Profiling;
using static FastSeg.Torch.torch;

namespace FastSeg.Cli.Commands;

/// <summary><c>fastseg models list</c> and <c>fastseg models describe</c>.</summary>
internal static class ModelsCommands
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>The <c>models</c> command group.</summary>
    public static Command Build(TextWriter stdout)
    {
        var listJson = Options.Flag("--json", "machine-readable output");
        var list = new Command("list", "the networks of the zoo, with the reference's figures") { listJson };
        list.SetAction(parse => List(parse.GetValue(listJson), stdout));

        var name = new Argument<string>("NAME") { Description = "a network name from 'fastseg models list'" };
        var encoder = Options.Text("--encoder", "encoder (default: the network's own)", "NAME");
        var classes = Options.Int("--classes", 19, "number of classes", min: 1);
        var aux = Options.Flag("--aux", "with the auxiliary heads");
        var detail = Options.Flag("--detail", "with the STDC detail head");
        var json = Options.Flag("--json", "machine-readable output (with the whole state dict)");
        var describe = new Command("describe", "parameters, GFLOPs at 1024x512, state dict and output shape of one network")
        {
            name, encoder, classes, aux, detail, json,
        };
        describe.SetAction(parse => Describe(parse.GetValue(name)!, parse.GetValue(encoder), parse.GetValue(classes),
            parse.GetValue(aux), parse.GetValue(detail), parse.GetValue(json), stdout));

        return new Command("models", "list and describe the networks of the zoo") { list, describe };
    }

    public static int List(bool json, TextWriter stdout)
    {
        var models = ModelZoo.List();
        if (json)
        {
            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream, Indented))
            {
                w.WriteStartArray();
                foreach (var info in models) WriteInfo(w, info);
                w.WriteEndArray();
            }
            stdout.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
            return 0;
        }
        foreach (var group in models.GroupBy(i => i.Source).OrderBy(g => Array.IndexOf(SourceOrder, g.Key) is var k && k < 0 ? int.MaxValue : k))
        {
            stdout.WriteLine($"{SourceTitle(group.Key)} ({group.Count()} networks)");
            stdout.WriteLine($"  {"name",-20} {"encoders (default first)",-32} {"heads",-10} {"mult",4} {"params",12} {"mIoU",6} {"FPS",5}  paper");
            foreach (var i in group)
            {
                var heads = string.Join("+", new[] { i.SupportsAux ? "aux" : null, i.SupportsDetail ? "detail" : null }.Where(h => h is not null));
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {i.Name,-20} {EncoderColumn(i, 32),-32} {(heads.Length == 0 ? "-" : heads),-10} {i.InputMultiple,4} {i.ReferenceParameters,12:N0} {Figure(i.ReferenceMIoU, "F2"),6} {Figure(i.ReferenceFps, "F0"),5}  {i.Paper}"));
            }
            stdout.WriteLine();
        }
        stdout.WriteLine("mult: input height and width must be multiples of this; params: the reference's count for 19 classes and");
        stdout.WriteLine("the default options; mIoU: the reference's published Cityscapes val mIoU (%); FPS: the reference's published");
        stdout.WriteLine("frames per second (zh320: RTX 2080 at 1024x512), not measured here (see 'fastseg bench').");
        return 0;
    }

    private static readonly string[] SourceOrder = { "zh320", "fast_seg", "smp" };

    private static string SourceTitle(string source) => source switch
    {
        "zh320" => "zh320/realtime-semantic-segmentation-pytorch",
        "fast_seg" => "lxtGH/Fast_Seg",
        "smp" => "segmentation_models.pytorch (distillation teachers)",
        _ => source,
    };

    private static string Figure(double? value, string format) =>
        value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    /// <summary>The encoder list, shortened to fit the column ("mobilenet_v2,resnet18,… (+3)").</summary>
    internal static string EncoderColumn(ModelInfo info, int width)
    {
        if (info.Encoders.Count == 0) return "-";
        var ordered = info.DefaultEncoder is { } d ? info.Encoders.Where(e => e != d).Prepend(d).ToList() : info.Encoders.ToList();
        var text = string.Join(",", ordered);
        if (text.Length <= width) return text;
        for (int shown = ordered.Count - 1; shown >= 1; shown--)
        {
            var shortened = $"{string.Join(",", ordered.Take(shown))},… (+{ordered.Count - shown})";
            if (shortened.Length <= width) return shortened;
        }
        return text[..(width - 1)] + "…";
    }

    private static void WriteInfo(Utf8JsonWriter w, ModelInfo info)
    {
        w.WriteStartObject();
        w.WriteString("name", info.Name);
        w.WriteString("title", info.Title);
        w.WriteString("paper", info.Paper);
        w.WriteStartArray("encoders");
        foreach (var e in info.Encoders) w.WriteStringValue(e);
        w.WriteEndArray();
        if (info.DefaultEncoder is null) w.WriteNull("default_encoder");
        else w.WriteString("default_encoder", info.DefaultEncoder);
        w.WriteBoolean("aux", info.SupportsAux);
        w.WriteBoolean("detail", info.SupportsDetail);
        w.WriteStartObject("options");
        foreach (var (key, values) in info.ExtraOptions)
        {
            w.WriteStartArray(key);
            foreach (var v in values) w.WriteStringValue(v);
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteStartObject("value_options");
        foreach (var (key, option) in info.ValueOptions)
        {
            w.WriteStartObject(key);
            w.WriteString("default", option.Default);
            w.WriteString("expected", option.Expected);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteString("source", info.Source);
        w.WriteNumber("input_multiple", info.InputMultiple);
        w.WriteNumber("reference_params", info.ReferenceParameters);
        if (info.ReferenceMIoU is { } miou) w.WriteNumber("reference_miou", miou);
        else w.WriteNull("reference_miou");
        if (info.ReferenceFps is { } fps) w.WriteNumber("reference_fps_rtx2080", fps);
        else w.WriteNull("reference_fps_rtx2080");
        w.WriteEndObject();
    }

    public static int Describe(string name, string? encoder, int classes, bool aux, bool detail, bool json, TextWriter stdout)
    {
        using var model = ModelZoo.Create(name, encoder, classes, aux, detail);
        var report = ModelComplexity.Measure(model, 1, 3, 512, 1024);
        long[] outputShape;
        model.eval();
        using (var scope = NewDisposeScope())
        using (inference_mode())
            outputShape = model.call(zeros(1, 3, 512, 1024)).shape;
        var sd = model.state_dict();
        if (json)
        {
            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream, Indented))
            {
                w.WriteStartObject();
                w.WriteString("name", model.Info!.Name);
                if (model.Options!.Encoder is null) w.WriteNull("encoder");
                else w.WriteString("encoder", model.Options.Encoder);
                w.WriteNumber("classes", classes);
                w.WriteBoolean("aux", model.Options.Aux);
                w.WriteBoolean("detail", model.Options.Detail);
                w.WriteNumber("params", report.Parameters);
                w.WriteNumber("gflops_1024x512", Math.Round(report.GFlops, 4));
                w.WriteStartArray("input_shape");
                foreach (var d in new long[] { 1, 3, 512, 1024 }) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("output_shape");
                foreach (var d in outputShape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("state_dict");
                foreach (var (key, t) in sd)
                {
                    w.WriteStartObject();
                    w.WriteString("key", key);
                    w.WriteStartArray("shape");
                    foreach (var d in t.shape) w.WriteNumberValue(d);
                    w.WriteEndArray();
                    w.WriteString("dtype", DTypeName(t.dtype));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            stdout.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
            return 0;
        }
        var info = model.Info!;
        stdout.WriteLine($"{info.Title} ({info.Name}), encoder {model.Options!.Encoder ?? "-"}, {classes} classes");
        stdout.WriteLine($"  paper:        {info.Paper}");
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  parameters:   {report.Parameters:N0} (reference, 19 classes, default options: {info.ReferenceParameters:N0})"));
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  GFLOPs:       {report.GFlops:F2} at 1024x512 (multiply-adds of convolutions and matrix products)"));
        stdout.WriteLine($"  output shape: [{string.Join(", ", outputShape)}] for a 1x3x512x1024 input");
        stdout.WriteLine($"  input:        height and width multiples of {model.InputMultiple}");
        stdout.WriteLine($"  state dict:   {sd.Count} entries");
        if (info.ReferenceMIoU is not null)
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  reference:    {info.ReferenceMIoU:F2} mIoU (Cityscapes val), {info.ReferenceFps:F0} FPS (RTX 2080)"));
        foreach (var w in PretrainedWeights.For(info.Name))
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  weights:      --weights {w.Tag}{(w.Encoder is null ? "" : $" --encoder {w.Encoder}")}: {w.Dataset}, {w.MIoU:F2} mIoU, {w.Url}"));
        if (PretrainedWeights.Encoders.FirstOrDefault(e => e.Encoder == model.Options.Encoder) is { } imagenet)
            stdout.WriteLine($"  encoder:      encoder_weights={imagenet.Tag} ({imagenet.Url})");
        return 0;
    }

    internal static string DTypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Float64 => "float64",
        ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Int64 => "int64",
        ScalarType.Int32 => "int32",
        ScalarType.Byte => "uint8",
        ScalarType.Bool => "bool",
        _ => t.ToString().ToLowerInvariant(),
    };
}
