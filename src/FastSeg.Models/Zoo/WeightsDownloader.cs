using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace FastSeg.Models.Zoo;

/// <summary>How far a download has come: reported when it starts, as bytes arrive, and when it is complete.</summary>
/// <param name="Url">The address being read.</param>
/// <param name="FilePath">The cache file it will become.</param>
/// <param name="BytesReceived">Bytes of the file on disk so far (a resumed download starts above zero).</param>
/// <param name="TotalBytes">The file's size, when the server says it; null otherwise.</param>
/// <param name="Completed">True on the last report, once the file is verified and in place.</param>
public readonly record struct DownloadProgress(string Url, string FilePath, long BytesReceived, long? TotalBytes, bool Completed);

/// <summary>
/// A weights file could not be had: the server is unreachable, answered with an error or an HTML page, the transfer
/// was cut short, or the file's SHA-256 does not start with the expected prefix. The message is one line naming the
/// URL, what went wrong and the cache path where the file can be placed by hand.
/// </summary>
public sealed class WeightsDownloadException : IOException
{
    /// <summary>Creates the exception.</summary>
    public WeightsDownloadException(string message, string url, string cachePath, Exception? inner = null) : base(message, inner)
    {
        Url = url;
        CachePath = cachePath;
    }

    /// <summary>The address that was read.</summary>
    public string Url { get; }

    /// <summary>Where the file is expected in the cache (where it can be copied by hand).</summary>
    public string CachePath { get; }
}

/// <summary>
/// Downloads weights files into a cache folder and returns their local paths; a file already in the cache is used
/// without any request. The cache folder is <c>$FASTSEG_HOME/weights</c>, else <c>$XDG_CACHE_HOME/fastseg/weights</c>,
/// else <c>~/.cache/fastseg/weights</c>; each file keeps a relative path (e.g. <c>zh320/v1.0/ddrnet-23-slim.pth</c>).
/// </summary>
/// <remarks>
/// <para>A file appears under its cache name only once complete and verified: bytes go to <c>NAME.part</c> in the same
/// folder, which is checked (size against Content-Length, no HTML page, a PyTorch file's first bytes, the SHA-256
/// prefix when one is known, and an optional caller's check) and then renamed. A transfer that breaks off leaves only
/// that <c>.part</c> file, and only when the server named a validator (ETag or Last-Modified): the next attempt asks for
/// the rest with an HTTP Range request guarded by If-Range, and starts over when the server does not honour it.
/// Errors that show the bytes are wrong (404, an HTML page, a wrong hash) remove the partial file.</para>
/// <para>Two processes fetching the same file take turns through a lock file (<c>NAME.lock</c>); the second finds the
/// first's finished file. Requests go through <see cref="HttpClient"/>'s default handler, which honours the system
/// proxy settings (<c>HTTPS_PROXY</c>, <c>HTTP_PROXY</c>, <c>NO_PROXY</c>).</para>
/// <para>With a mirror (<see cref="Mirror"/>, or the <c>FASTSEG_WEIGHTS_URL</c> environment variable), every file is read
/// from <c>MIRROR/RELATIVE-PATH</c> instead of its published address: a mirror is a copy of the cache's layout.</para>
/// </remarks>
public sealed class WeightsDownloader
{
    /// <summary>The environment variable that chooses the cache root (weights go to its <c>weights</c> folder).</summary>
    public const string HomeVariable = "FASTSEG_HOME";

    /// <summary>The environment variable naming a mirror base URL that replaces the published addresses.</summary>
    public const string MirrorVariable = "FASTSEG_WEIGHTS_URL";

    private static readonly Lazy<HttpClient> SharedClient = new(() => new HttpClient { Timeout = TimeSpan.FromMinutes(2) });
    private readonly HttpClient _client;

    /// <summary>Creates a downloader.</summary>
    /// <param name="cacheDirectory">The folder files are kept in; null for <see cref="DefaultCacheDirectory"/>.</param>
    /// <param name="mirror">A base URL to read every file from (see the remarks); null for the published addresses.</param>
    /// <param name="client">The HTTP client; null for a shared one with the default handler (system proxy).</param>
    public WeightsDownloader(string? cacheDirectory = null, string? mirror = null, HttpClient? client = null)
    {
        CacheDirectory = Path.GetFullPath(cacheDirectory ?? DefaultCacheDirectory());
        Mirror = string.IsNullOrWhiteSpace(mirror) ? null : mirror.TrimEnd('/');
        _client = client ?? SharedClient.Value;
    }

    /// <summary>A downloader with the cache folder and mirror the environment chooses (see the class remarks).</summary>
    public static WeightsDownloader FromEnvironment() =>
        new(DefaultCacheDirectory(), Environment.GetEnvironmentVariable(MirrorVariable));

    /// <summary>
    /// <c>$FASTSEG_HOME/weights</c>, else <c>$XDG_CACHE_HOME/fastseg/weights</c>, else <c>~/.cache/fastseg/weights</c>
    /// (empty variables count as unset).
    /// </summary>
    public static string DefaultCacheDirectory()
    {
        static string? Variable(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
        if (Variable(HomeVariable) is { } home) return Path.Combine(home, "weights");
        if (Variable("XDG_CACHE_HOME") is { } xdg) return Path.Combine(xdg, "fastseg", "weights");
        string user = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(user)) user = Path.GetTempPath();
        return Path.Combine(user, ".cache", "fastseg", "weights");
    }

    /// <summary>The folder files are kept in.</summary>
    public string CacheDirectory { get; }

    /// <summary>The mirror base URL, or null.</summary>
    public string? Mirror { get; }

    /// <summary>How long a transfer may go without receiving a byte before it counts as broken off.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long to wait for another process that is downloading the same file before downloading it too.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>The local path of the cache file <paramref name="relativePath"/> ('/'-separated).</summary>
    public string CachePath(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        var parts = relativePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(p => p is "." or ".." || p.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0))
            throw new ArgumentException($"'{relativePath}' is not a relative cache path", nameof(relativePath));
        return Path.Combine([CacheDirectory, .. parts]);
    }

    /// <summary>The address a file is read from: the mirror's copy when there is a mirror, else <paramref name="url"/>.</summary>
    public string SourceUrl(string url, string relativePath) => Mirror is null ? url : Mirror + "/" + relativePath.TrimStart('/');

    /// <summary>
    /// Returns the local path of <paramref name="relativePath"/>, downloading it from <paramref name="url"/> (or the
    /// mirror) first when it is not in the cache. See the class remarks for how the file is checked and placed.
    /// </summary>
    /// <param name="url">The published address.</param>
    /// <param name="relativePath">The file's place in the cache ('/'-separated).</param>
    /// <param name="sha256Prefix">Leading hex digits the file's SHA-256 must have (torch.hub's check), or null.</param>
    /// <param name="progress">Receives the progress, synchronously, on the downloading thread.</param>
    /// <param name="validate">A last check of the complete file (its temporary path) before it is renamed; throws if unusable.</param>
    /// <param name="cancellationToken">Stops the download (the partial file is kept for a later resume).</param>
    /// <exception cref="WeightsDownloadException">The file could not be had (one line: URL, reason, cache path).</exception>
    public string Fetch(string url, string relativePath, string? sha256Prefix = null, IProgress<DownloadProgress>? progress = null,
        Action<string>? validate = null, CancellationToken cancellationToken = default) =>
        FetchAsync(url, relativePath, sha256Prefix, progress, validate, cancellationToken).GetAwaiter().GetResult();

    /// <inheritdoc cref="Fetch"/>
    public async Task<string> FetchAsync(string url, string relativePath, string? sha256Prefix = null, IProgress<DownloadProgress>? progress = null,
        Action<string>? validate = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        string target = CachePath(relativePath);
        if (File.Exists(target)) return target;
        string source = SourceUrl(url, relativePath);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightsDownloadException($"cannot create the cache folder for {target}: {e.Message}", source, target, e);
        }

        using var fileLock = await AcquireLockAsync(target, cancellationToken).ConfigureAwait(false);
        if (File.Exists(target)) return target; // another process finished it while this one waited
        // Holding the lock: the stable .part name, which a later attempt can resume. Without it: a name of our own.
        string part = fileLock is null ? $"{target}.{Guid.NewGuid():N}.part" : target + ".part";
        try
        {
            await DownloadAsync(source, target, part, sha256Prefix, progress, validate, cancellationToken).ConfigureAwait(false);
            File.Move(part, target, overwrite: true);
            DeleteQuietly(part + ".validator");
        }
        catch
        {
            // Nothing received (unreachable server, say): leave no empty temporary behind.
            if (File.Exists(part) && new FileInfo(part).Length == 0)
            {
                DeleteQuietly(part);
                DeleteQuietly(part + ".validator");
            }
            throw;
        }
        finally
        {
            if (fileLock is null)
            {
                DeleteQuietly(part);
                DeleteQuietly(part + ".validator");
            }
        }
        progress?.Report(new DownloadProgress(source, target, new FileInfo(target).Length, new FileInfo(target).Length, Completed: true));
        return target;
    }

    // The lock file, held exclusively for the whole download; null when another process kept it past LockTimeout (this
    // one then downloads to a file of its own). The lock file is removed when released.
    private async Task<FileStream?> AcquireLockAsync(string target, CancellationToken cancellationToken)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(target + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (waited.Elapsed < LockTimeout)
            {
                if (File.Exists(target)) return null;
                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException)
            {
                return null;
            }
        }
    }

    private async Task DownloadAsync(string source, string target, string part, string? sha256Prefix, IProgress<DownloadProgress>? progress,
        Action<string>? validate, CancellationToken cancellationToken)
    {
        string validatorFile = part + ".validator";
        using var file = new FileStream(part, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        string? validator = file.Length > 0 && File.Exists(validatorFile) ? File.ReadAllText(validatorFile).Trim() : null;
        if (validator is null or "") Restart(file, validatorFile);

        HttpResponseMessage response = await SendAsync(source, target, file.Length, validator, cancellationToken).ConfigureAwait(false);
        try
        {
            long offset = file.Length;
            if (offset > 0 && (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable
                               || (response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From != offset)))
            {
                // The server cannot continue the partial file where it ends: start over with a plain request.
                response.Dispose();
                Restart(file, validatorFile);
                offset = 0;
                response = await SendAsync(source, target, 0, null, cancellationToken).ConfigureAwait(false);
            }
            if (response.StatusCode != HttpStatusCode.PartialContent)
            {
                if (!response.IsSuccessStatusCode)
                {
                    Discard(file, part, validatorFile);
                    throw Failure(source, target, $"the server answered HTTP {(int)response.StatusCode} ({response.ReasonPhrase})");
                }
                if (offset > 0) Restart(file, validatorFile); // a full copy instead of the rest: the file changed or ranges are not served
                offset = 0;
            }
            if (response.Content.Headers.ContentType?.MediaType is { } media && media.Contains("html", StringComparison.OrdinalIgnoreCase))
            {
                Discard(file, part, validatorFile);
                throw Failure(source, target, $"the server sent a web page ({media}) instead of a weights file");
            }
            if (offset == 0)
            {
                // Remember what identifies this version of the file, so that a broken-off transfer can be resumed safely.
                string? newValidator = response.Headers.ETag?.ToString()
                                       ?? response.Content.Headers.LastModified?.ToString("R", CultureInfo.InvariantCulture);
                if (newValidator is null) DeleteQuietly(validatorFile);
                else File.WriteAllText(validatorFile, newValidator);
            }
            long? total = response.Content.Headers.ContentLength is long length ? offset + length : null;
            file.Position = offset;
            await CopyAsync(response, file, source, target, offset, total, progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            response.Dispose();
        }

        file.Flush();
        file.Position = 0;
        string? problem = CheckContent(file, sha256Prefix);
        if (problem is not null)
        {
            Discard(file, part, validatorFile);
            throw Failure(source, target, problem);
        }
        file.Dispose();
        if (validate is not null)
        {
            try
            {
                validate(part);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                DeleteQuietly(part);
                DeleteQuietly(validatorFile);
                throw Failure(source, target, "the downloaded file is not usable: " + FirstLine(e.Message), e);
            }
        }
    }

    private async Task<HttpResponseMessage> SendAsync(string source, string target, long offset, string? validator, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, source);
        if (offset > 0 && validator is not null)
        {
            request.Headers.Range = new RangeHeaderValue(offset, null);
            request.Headers.IfRange = validator.StartsWith('"') || validator.StartsWith("W/", StringComparison.Ordinal)
                ? new RangeConditionHeaderValue(EntityTagHeaderValue.Parse(validator))
                : new RangeConditionHeaderValue(DateTimeOffset.Parse(validator, CultureInfo.InvariantCulture));
        }
        try
        {
            return await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Failure(source, target, "cannot reach the server (" + Reason(e) + ")", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Failure(source, target, "the server did not answer in time", e);
        }
    }

    private async Task CopyAsync(HttpResponseMessage response, FileStream file, string source, string target, long offset, long? total,
        IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        long received = offset;
        progress?.Report(new DownloadProgress(source, target, received, total, Completed: false));
        var buffer = new byte[1 << 16];
        bool first = offset == 0;
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var lastReport = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                stall.CancelAfter(StallTimeout);
                int n;
                try
                {
                    n = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new IOException($"no data for {StallTimeout.TotalSeconds:F0} s");
                }
                if (n == 0) break;
                if (first)
                {
                    first = false;
                    if (LooksLikeHtml(buffer.AsSpan(0, n))) throw new HtmlPageException();
                }
                await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                received += n;
                if (progress is not null && lastReport.ElapsedMilliseconds >= 100)
                {
                    lastReport.Restart();
                    progress.Report(new DownloadProgress(source, target, received, total, Completed: false));
                }
            }
        }
        catch (HtmlPageException)
        {
            Discard(file, file.Name, file.Name + ".validator");
            throw Failure(source, target, "the server sent a web page instead of a weights file");
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw BrokenOff(file, source, target, received, total, FirstLine(e.Message), e);
        }
        if (total is long expected && received != expected)
            throw BrokenOff(file, source, target, received, total, "the connection closed early", null);
        progress?.Report(new DownloadProgress(source, target, received, total, Completed: false));
    }

    // A transfer cut short: the bytes so far stay in the .part file when the server named a validator (so the next
    // attempt resumes), and are removed otherwise.
    private static WeightsDownloadException BrokenOff(FileStream file, string source, string target, long received, long? total, string why, Exception? inner)
    {
        file.Flush();
        string validatorFile = file.Name + ".validator";
        bool resumable = File.Exists(validatorFile) && received > 0;
        if (!resumable) Discard(file, file.Name, validatorFile);
        string of = total is long t ? $"{received:N0} of {t:N0} bytes" : $"{received:N0} bytes";
        return Failure(source, target, $"the transfer broke off after {of} ({why}); " +
                                       (resumable ? "running again resumes it" : "running again starts it over"), inner);
    }

    private sealed class HtmlPageException : Exception;

    private static bool LooksLikeHtml(ReadOnlySpan<byte> head)
    {
        int i = 0;
        if (head.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) i = 3;
        while (i < head.Length && head[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') i++;
        return i < head.Length && head[i] == (byte)'<';
    }

    // The whole file: a PyTorch checkpoint's first bytes (zip, or a legacy pickle) and the SHA-256 prefix.
    private static string? CheckContent(FileStream file, string? sha256Prefix)
    {
        if (file.Length == 0) return "the server sent an empty file";
        Span<byte> head = stackalloc byte[4];
        int n = file.Read(head);
        file.Position = 0;
        if (LooksLikeHtml(head[..n])) return "the server sent a web page instead of a weights file";
        bool zip = n >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K';
        bool pickle = head[0] == 0x80;
        if (!zip && !pickle) return "the file is not a PyTorch checkpoint (neither a zip archive nor a pickle)";
        if (sha256Prefix is null) return null;
        string digest = Convert.ToHexStringLower(SHA256.HashData(file));
        return digest.StartsWith(sha256Prefix, StringComparison.OrdinalIgnoreCase)
            ? null
            : $"its SHA-256 {digest} does not start with {sha256Prefix.ToLowerInvariant()} (a damaged or different file)";
    }

    private static void Restart(FileStream file, string validatorFile)
    {
        file.SetLength(0);
        DeleteQuietly(validatorFile);
    }

    private static void Discard(FileStream file, string part, string validatorFile)
    {
        file.Dispose();
        DeleteQuietly(part);
        DeleteQuietly(validatorFile);
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static WeightsDownloadException Failure(string source, string target, string why, Exception? inner = null) =>
        new($"cannot download {source}: {why}; the file can also be placed by hand at {target}", source, target, inner);

    private static string Reason(HttpRequestException e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is SocketException s)
                return s.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection refused",
                    SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData => "host name not found",
                    SocketError.NetworkUnreachable or SocketError.HostUnreachable => "network unreachable",
                    SocketError.TimedOut => "connection timed out",
                    _ => FirstLine(s.Message),
                };
        return e.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => "host name not found",
            HttpRequestError.ConnectionError => "connection failed",
            HttpRequestError.ProxyTunnelError => "the proxy refused the connection",
            _ => FirstLine(e.Message),
        };
    }

    private static string FirstLine(string message)
    {
        int end = message.IndexOf('\n');
        return (end < 0 ? message : message[..end]).TrimEnd();
    }
}
