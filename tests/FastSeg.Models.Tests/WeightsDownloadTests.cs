using FastSeg.Models.Encoders;
using FastSeg.Models.Zoo;
using Xunit;
using static FastSeg.Torch.torch;

namespace FastSeg.Models.Tests;

/// <summary>An ENet checkpoint made by the zoo (random weights, saved with SaveWeights), as bytes to serve.</summary>
public sealed class EnetCheckpointFixture : IDisposable
{
    public EnetCheckpointFixture()
    {
        Folder = Directory.CreateTempSubdirectory("fastseg-download-").FullName;
        Path = System.IO.Path.Combine(Folder, "enet.pth");
        manual_seed(21);
        using (var model = ModelZoo.Create("enet")) model.SaveWeights(Path);
        Bytes = File.ReadAllBytes(Path);
    }

    public string Folder { get; }
    public string Path { get; }
    public byte[] Bytes { get; }

    /// <summary>An empty cache folder of its own.</summary>
    public string NewCache() => Directory.CreateDirectory(System.IO.Path.Combine(Folder, "cache-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// Downloads against a server on 127.0.0.1 that the test starts (the registry's files are read from it as a mirror):
/// the first download, a cache hit without a request, a truncated transfer (resumed with a Range request), a server
/// that ignores ranges, a wrong SHA-256 prefix, an HTML page, a 404, a file that is not a checkpoint and an
/// unreachable server. Each failure is one clear line and leaves no file under its cache name.
/// </summary>
public class WeightsDownloadTests : IClassFixture<EnetCheckpointFixture>
{
    private const string EnetPath = "/zh320/v1.0/enet.pth";
    private readonly EnetCheckpointFixture _f;

    // Loopback needs no proxy, whatever the machine's proxy variables say.
    private static readonly HttpClient Direct = new(new SocketsHttpHandler { UseProxy = false });

    private static WeightsDownloader Downloader(string cache, string mirror) => new(cache, mirror, Direct);

    public WeightsDownloadTests(EnetCheckpointFixture fixture) => _f = fixture;

    private sealed class Recorder : IProgress<DownloadProgress>
    {
        public List<DownloadProgress> Reports { get; } = new();
        public void Report(DownloadProgress value) => Reports.Add(value);
    }

    private static SegmentationModel BuildEnet(WeightsDownloader downloader, IProgress<DownloadProgress>? progress = null)
    {
        var builder = ModelZoo.Model("enet").WithPretrained("cityscapes").WithDownloader(downloader);
        if (progress is not null) builder.WithDownloadProgress(progress);
        return builder.Build();
    }

    private void AssertHoldsTheServedWeights(SegmentationModel model)
    {
        using var scope = NewDisposeScope();
        var served = load_state_dict(_f.Path);
        var own = model.state_dict();
        Assert.Equal(served.Count, own.Count);
        foreach (var (key, value) in served) Assert.True(value.equal(own[key]), key);
    }

    private static string[] CachedFiles(string cache) =>
        Directory.GetFiles(cache, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(cache, f).Replace('\\', '/')).Order().ToArray();

    private static void AssertOneLine(string message, params string[] parts)
    {
        Assert.DoesNotContain('\n', message);
        foreach (var part in parts) Assert.Contains(part, message);
    }

    [Fact]
    public void FirstDownloadLoadsTheWeightsAndTheCachedFileNeedsNoRequest()
    {
        using var server = new LoopbackHttpServer(r => r.Path == EnetPath ? LoopbackHttpServer.File(r, _f.Bytes) : new LoopbackResponse(404, []));
        string cache = _f.NewCache();
        var downloader = Downloader(cache, server.BaseUrl);
        var progress = new Recorder();
        using (var model = BuildEnet(downloader, progress)) AssertHoldsTheServedWeights(model);

        Assert.Equal(new[] { EnetPath }, server.Requests.Select(r => r.Path));
        Assert.Equal(new[] { "zh320/v1.0/enet.pth" }, CachedFiles(cache)); // no .part, .lock or .validator left
        Assert.Equal(_f.Bytes, File.ReadAllBytes(Path.Combine(cache, "zh320", "v1.0", "enet.pth")));
        Assert.Equal(server.BaseUrl + EnetPath, progress.Reports[0].Url);
        Assert.Equal(0, progress.Reports[0].BytesReceived);
        Assert.Equal(_f.Bytes.Length, progress.Reports[0].TotalBytes);
        Assert.True(progress.Reports[^1].Completed);
        Assert.Equal(_f.Bytes.Length, progress.Reports[^1].BytesReceived);

        using (var again = BuildEnet(downloader)) AssertHoldsTheServedWeights(again);
        Assert.Single(server.Requests);
    }

    [Fact]
    public void AFilePlacedByHandIsUsedWithoutTheNetwork()
    {
        string cache = _f.NewCache();
        var downloader = Downloader(cache, $"http://127.0.0.1:{LoopbackHttpServer.ClosedPort()}");
        string place = downloader.CachePath("zh320/v1.0/enet.pth");
        Directory.CreateDirectory(Path.GetDirectoryName(place)!);
        File.Copy(_f.Path, place);
        using var model = BuildEnet(downloader);
        AssertHoldsTheServedWeights(model);
    }

    [Fact]
    public void ATruncatedTransferFailsCleanlyAndTheNextAttemptResumesWithARange()
    {
        int half = _f.Bytes.Length / 2;
        int calls = 0;
        using var server = new LoopbackHttpServer(r => Interlocked.Increment(ref calls) == 1
            ? LoopbackHttpServer.File(r, _f.Bytes, sendBytes: half)
            : LoopbackHttpServer.File(r, _f.Bytes));
        string cache = _f.NewCache();
        var downloader = Downloader(cache, server.BaseUrl);
        string target = downloader.CachePath("zh320/v1.0/enet.pth");

        var e = Assert.Throws<WeightsDownloadException>(() => BuildEnet(downloader));
        AssertOneLine(e.Message, server.BaseUrl + EnetPath, "broke off", $"{half:N0} of {_f.Bytes.Length:N0} bytes", target);
        Assert.False(File.Exists(target));
        Assert.Equal(half, new FileInfo(target + ".part").Length); // kept only under the temporary name, for the resume

        using (var model = BuildEnet(downloader)) AssertHoldsTheServedWeights(model);
        var resumed = server.Requests.ToArray()[1];
        Assert.Equal($"bytes={half}-", resumed.Header("range"));
        Assert.Equal("\"v1\"", resumed.Header("if-range"));
        Assert.Equal(new[] { "zh320/v1.0/enet.pth" }, CachedFiles(cache));
        Assert.Equal(_f.Bytes, File.ReadAllBytes(target));
    }

    [Fact]
    public void ATruncatedTransferStartsOverWhenTheServerIgnoresRanges()
    {
        int calls = 0;
        using var server = new LoopbackHttpServer(r => Interlocked.Increment(ref calls) == 1
            ? LoopbackHttpServer.File(r, _f.Bytes, sendBytes: 1000)
            : LoopbackHttpServer.File(r, _f.Bytes, ranges: false));
        string cache = _f.NewCache();
        var downloader = Downloader(cache, server.BaseUrl);
        Assert.Throws<WeightsDownloadException>(() => BuildEnet(downloader));
        using (var model = BuildEnet(downloader)) AssertHoldsTheServedWeights(model);
        Assert.Equal(_f.Bytes, File.ReadAllBytes(downloader.CachePath("zh320/v1.0/enet.pth")));
        Assert.Equal(new[] { "zh320/v1.0/enet.pth" }, CachedFiles(cache));
    }

    [Fact]
    public void ATruncatedTransferWithoutAValidatorLeavesNothingAndStartsOver()
    {
        int calls = 0;
        using var server = new LoopbackHttpServer(r => Interlocked.Increment(ref calls) == 1
            ? LoopbackHttpServer.File(r, _f.Bytes, etag: null, sendBytes: 1000)
            : LoopbackHttpServer.File(r, _f.Bytes, etag: null));
        string cache = _f.NewCache();
        var downloader = Downloader(cache, server.BaseUrl);
        var e = Assert.Throws<WeightsDownloadException>(() => BuildEnet(downloader));
        Assert.Contains("starts it over", e.Message);
        Assert.Empty(CachedFiles(cache));
        using (var model = BuildEnet(downloader)) AssertHoldsTheServedWeights(model);
        Assert.Null(server.Requests.ToArray()[1].Header("range"));
    }

    [Fact]
    public void AWrongSha256PrefixIsRejectedAndNothingIsCached()
    {
        // ImageNet encoder weights carry torchvision's hash prefix; a file with other bytes must not pass.
        string fake = Path.Combine(_f.Folder, "resnet18-fake.pth");
        using (var resnet = new ResNet("resnet18")) save(resnet.state_dict(), fake);
        var bytes = File.ReadAllBytes(fake);
        using var server = new LoopbackHttpServer(r => r.Path == "/torchvision/resnet18-f37072fd.pth"
            ? LoopbackHttpServer.File(r, bytes)
            : new LoopbackResponse(404, []));
        string cache = _f.NewCache();
        var downloader = Downloader(cache, server.BaseUrl);
        var e = Assert.Throws<WeightsDownloadException>(() => ModelZoo.Model("linknet").WithPretrainedEncoder("imagenet").WithDownloader(downloader).Build());
        AssertOneLine(e.Message, server.BaseUrl + "/torchvision/resnet18-f37072fd.pth", "SHA-256", "does not start with f37072fd",
            downloader.CachePath("torchvision/resnet18-f37072fd.pth"));
        Assert.Empty(CachedFiles(cache));

        // The same check at the downloader's level, with the prefix the file does have, passes.
        string digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        var path = downloader.Fetch("https://example.invalid/resnet18-f37072fd.pth", "torchvision/resnet18-f37072fd.pth", digest[..8]);
        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData("text/html; charset=utf-8")]
    [InlineData("application/octet-stream")]
    public void AnHtmlPageInsteadOfACheckpointIsRejectedAndNothingIsCached(string contentType)
    {
        var page = "\n<!DOCTYPE html><html><body>Rate limit exceeded</body></html>"u8.ToArray();
        using var server = new LoopbackHttpServer(_ => new LoopbackResponse(200, page) { Headers = { ["Content-Type"] = contentType, ["ETag"] = "\"p\"" } });
        string cache = _f.NewCache();
        var downloader = Downloader(cache, server.BaseUrl);
        var e = Assert.Throws<WeightsDownloadException>(() => BuildEnet(downloader));
        AssertOneLine(e.Message, server.BaseUrl + EnetPath, "web page", downloader.CachePath("zh320/v1.0/enet.pth"));
        Assert.Empty(CachedFiles(cache));
    }

    [Fact]
    public void NotFoundIsAClearErrorAndNothingIsCached()
    {
        using var server = new LoopbackHttpServer(_ => new LoopbackResponse(404, "Not Found"u8.ToArray()) { Headers = { ["Content-Type"] = "text/plain" } });
        string cache = _f.NewCache();
        var downloader = Downloader(cache, server.BaseUrl);
        var e = Assert.Throws<WeightsDownloadException>(() => BuildEnet(downloader));
        AssertOneLine(e.Message, server.BaseUrl + EnetPath, "HTTP 404 (Not Found)", downloader.CachePath("zh320/v1.0/enet.pth"));
        Assert.Empty(CachedFiles(cache));
    }

    [Fact]
    public void AFileThatIsNotAReadableCheckpointIsRejectedAndNothingIsCached()
    {
        var broken = _f.Bytes[..4].Concat(new byte[5000]).ToArray(); // a zip's signature, then nothing a reader accepts
        using var server = new LoopbackHttpServer(r => LoopbackHttpServer.File(r, broken));
        string cache = _f.NewCache();
        var downloader = Downloader(cache, server.BaseUrl);
        var e = Assert.Throws<WeightsDownloadException>(() => BuildEnet(downloader));
        AssertOneLine(e.Message, "not usable", downloader.CachePath("zh320/v1.0/enet.pth"));
        Assert.Empty(CachedFiles(cache));
    }

    [Fact]
    public void AnUnreachableServerFailsWithOneLineNamingTheUrlAndWhereToPlaceTheFile()
    {
        string mirror = $"http://127.0.0.1:{LoopbackHttpServer.ClosedPort()}";
        string cache = _f.NewCache();
        var downloader = Downloader(cache, mirror);
        var e = Assert.Throws<WeightsDownloadException>(() => ModelZoo.Model("ddrnet").WithPretrained().WithDownloader(downloader).Build());
        string target = Path.Combine(cache, "zh320", "v1.0", "ddrnet-23-slim.pth");
        AssertOneLine(e.Message, mirror + "/zh320/v1.0/ddrnet-23-slim.pth", "connection refused", "placed by hand at " + target);
        Assert.Equal((mirror + "/zh320/v1.0/ddrnet-23-slim.pth", target), (e.Url, e.CachePath));
        Assert.Empty(CachedFiles(cache));
    }

    [Fact]
    public void TheCacheFolderComesFromFastSegHomeThenXdgCacheHome()
    {
        // Read, not changed: the variables of this process decide; the rule is checked on what they hold.
        string? home = Environment.GetEnvironmentVariable("FASTSEG_HOME");
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string expected = !string.IsNullOrEmpty(home) ? Path.Combine(home, "weights")
            : !string.IsNullOrEmpty(xdg) ? Path.Combine(xdg, "fastseg", "weights")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "fastseg", "weights");
        Assert.Equal(expected, WeightsDownloader.DefaultCacheDirectory());
        Assert.Throws<ArgumentException>(() => new WeightsDownloader(_f.NewCache()).CachePath("../outside.pth"));
    }
}
