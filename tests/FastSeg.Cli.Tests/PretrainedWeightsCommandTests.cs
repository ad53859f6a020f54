using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FastSeg.Cli.Commands;
using FastSeg.Data;
using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Cli.Tests;

/// <summary>
/// <c>--weights TAG</c> on predict, val and train: offline (an empty cache and a mirror on a closed loopback port) each
/// command prints one line with the URL and the cache path and exits with 1; a file placed by hand in the cache is
/// used without any network; an unknown tag lists the valid ones; the trainer's <c>weights</c> option loads a file.
/// </summary>
[Collection("train-command")]
public sealed class PretrainedWeightsCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fastseg-cli-weights-").FullName;

    public PretrainedWeightsCommandTests()
    {
        var pixels = new byte[64 * 48 * 3];
        new Random(2).NextBytes(pixels);
        using var image = Image.FromPixels(pixels, 64, 48, 3);
        image.Save(ImagePath);
        manual_seed(4);
        using var enet = ModelZoo.Create("enet");
        enet.SaveWeights(EnetPath);
    }

    private string ImagePath => Path.Combine(_root, "frame.png");
    private string EnetPath => Path.Combine(_root, "enet.pth");

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static int ClosedPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    // The built tool in a process of its own, so that its environment (cache folder, mirror) is its alone.
    private static (int Code, string Stdout, string Stderr) RunTool(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "fastseg.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var proxy in new[] { "http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY" })
            start.Environment.Remove(proxy); // loopback only: a proxy of the machine running the tests must not be asked
        foreach (var (k, v) in environment) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "fastseg did not finish");
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    public static TheoryData<string> Commands() => new() { "predict", "val", "train" };

    [Theory]
    [MemberData(nameof(Commands))]
    public void OfflineAMissingFileIsOneLineWithTheUrlAndTheCachePath(string command)
    {
        string home = Directory.CreateDirectory(Path.Combine(_root, "home-" + command)).FullName;
        string mirror = $"http://127.0.0.1:{ClosedPort()}";
        var environment = new Dictionary<string, string> { ["FASTSEG_HOME"] = home, ["FASTSEG_WEIGHTS_URL"] = mirror };
        string[] args = command switch
        {
            "predict" => ["predict", ImagePath, "--model", "ddrnet", "--weights", "cityscapes", "--output", Path.Combine(_root, "out")],
            "val" => ["val", "--weights", "cityscapes", "model=ddrnet", $"data_root={_root}"],
            _ => ["train", "model=ddrnet", "--weights", "cityscapes", $"data_root={_root}", $"save_dir={Path.Combine(_root, "run")}"],
        };
        var (code, stdout, stderr) = RunTool(environment, args);
        Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
        var lines = stderr.TrimEnd().Split('\n');
        Assert.True(lines.Length == 1, stderr);
        string cached = Path.Combine(home, "weights", "zh320", "v1.0", "ddrnet-23-slim.pth");
        Assert.StartsWith($"fastseg {command}: cannot download {mirror}/zh320/v1.0/ddrnet-23-slim.pth: cannot reach the server (connection refused)", lines[0]);
        Assert.EndsWith("placed by hand at " + cached, lines[0].TrimEnd());
        Assert.Empty(Directory.GetFiles(home, "*", SearchOption.AllDirectories));
        Assert.False(Directory.Exists(Path.Combine(_root, "out")));
    }

    private (int Code, string Stdout, string Stderr) Predict(string weights, string? model, WeightsDownloader downloader)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PredictCommand.Run(new PredictSettings
        {
            Input = ImagePath,
            OutputDir = Path.Combine(_root, "predicted"),
            Checkpoint = weights,
            Model = model,
            Downloader = downloader,
        }, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void PredictUsesAFilePlacedByHandInTheCacheWithoutTheNetwork()
    {
        var downloader = new WeightsDownloader(Path.Combine(_root, "cache"), $"http://127.0.0.1:{ClosedPort()}");
        string place = downloader.CachePath("zh320/v1.0/enet.pth");
        Directory.CreateDirectory(Path.GetDirectoryName(place)!);
        File.Copy(EnetPath, place);
        var (code, stdout, stderr) = Predict("cityscapes", "enet", downloader);
        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        Assert.Contains($"{place}: enet, 19 classes", stdout);
        Assert.True(File.Exists(Path.Combine(_root, "predicted", "frame_trainIds.png")));
    }

    [Fact]
    public void PredictDownloadsFromTheMirrorAndReportsProgressOnStderr()
    {
        var bytes = File.ReadAllBytes(EnetPath);
        using var server = new FastSeg.Models.Tests.LoopbackHttpServer(r => r.Path == "/zh320/v1.0/enet.pth"
            ? FastSeg.Models.Tests.LoopbackHttpServer.File(r, bytes)
            : new FastSeg.Models.Tests.LoopbackResponse(404, []));
        string cache = Path.Combine(_root, "cache");
        var downloader = new WeightsDownloader(cache, server.BaseUrl, new HttpClient(new SocketsHttpHandler { UseProxy = false }));
        var (code, stdout, stderr) = Predict("cityscapes", "enet", downloader);
        Assert.True(code == 0, stderr);
        string place = Path.Combine(cache, "zh320", "v1.0", "enet.pth");
        var lines = stderr.TrimEnd().Split('\n').Select(l => l.TrimEnd()).ToArray();
        Assert.Equal($"fastseg: downloading {server.BaseUrl}/zh320/v1.0/enet.pth to {place}", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("fastseg:   100% (", StringComparison.Ordinal));
        Assert.StartsWith("fastseg: downloaded ", lines[^1]);
        Assert.Contains($"{place}: enet, 19 classes", stdout);
        Assert.Equal(bytes, File.ReadAllBytes(place));
    }

    [Fact]
    public void AnUnknownTagListsTheValidOnesAndATagNeedsTheModel()
    {
        var downloader = new WeightsDownloader(Path.Combine(_root, "cache"), $"http://127.0.0.1:{ClosedPort()}");
        var unknown = Predict("coco", "ppliteseg", downloader);
        Assert.Equal(1, unknown.Code);
        Assert.Equal("fastseg predict: ppliteseg has no pretrained weights 'coco'; valid: cityscapes (stdc1), cityscapes (stdc2)", unknown.Stderr.TrimEnd());
        var noModel = Predict("cityscapes", null, downloader);
        Assert.Equal(1, noModel.Code);
        Assert.Contains("--model", noModel.Stderr);
        Assert.Single(noModel.Stderr.TrimEnd().Split('\n'));
    }

    private static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CommandLine.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void DescribeNamesThePublishedWeights()
    {
        var (code, stdout, stderr) = Run("models", "describe", "ppliteseg");
        Assert.True(code == 0, stderr);
        Assert.Contains("weights:      --weights cityscapes --encoder stdc1: cityscapes, 72.49 mIoU, https://github.com/zh320/", stdout);
        Assert.Contains("weights:      --weights cityscapes --encoder stdc2: cityscapes, 74.37 mIoU", stdout);
        var linknet = Run("models", "describe", "linknet");
        Assert.Contains("encoder:      encoder_weights=imagenet (https://download.pytorch.org/models/resnet18-f37072fd.pth)", linknet.Stdout);
    }

    [Fact]
    public void TheTrainersWeightsOptionLoadsAFileAndRejectsOneThatDoesNotFit()
    {
        string data = Path.Combine(_root, "data");
        SyntheticCityscapes.Generate(data, new SyntheticCityscapesOptions { Width = 96, Height = 48, TrainCount = 2, ValCount = 1, Seed = 5 });
        string[] small =
        [
            $"data_root={data}", "total_epoch=1", "warmup_epochs=0", "train_bs=2", "val_bs=1", "crop_h=48", "crop_w=96",
            "base_workers=1", "use_tb=false", "logger_name=train",
        ];
        var misfit = Run(["train", "model=fastscnn", "--weights", EnetPath, .. small, $"save_dir={Path.Combine(_root, "misfit")}"]);
        Assert.Equal(1, misfit.Code);
        Assert.Contains("the weights do not fit fastscnn", misfit.Stderr);
        Assert.Single(misfit.Stderr.TrimEnd().Split('\n'));

        string run = Path.Combine(_root, "run");
        var ok = Run(["train", "model=enet", "--weights", EnetPath, .. small, $"save_dir={run}"]);
        Assert.True(ok.Code == 0, ok.Stderr + ok.Stdout);
        Assert.Contains("Load initial weights from " + EnetPath, File.ReadAllText(Path.Combine(run, "train.log")));

        var badTag = Run(["train", "model=enet", "encoder_weights=imagenet", .. small, $"save_dir={Path.Combine(_root, "bad")}"]);
        Assert.Equal(1, badTag.Code);
        Assert.Contains("option 'encoder_weights'", badTag.Stderr);
        Assert.Contains("enet has no encoder choice", badTag.Stderr);
    }
}
