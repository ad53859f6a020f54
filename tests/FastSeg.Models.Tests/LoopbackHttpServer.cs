using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastSeg.Models.Tests;

/// <summary>A request the loopback server received: path and headers (names lower case).</summary>
public sealed record LoopbackRequest(string Path, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>A header's value, or null.</summary>
    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var v) ? v : null;
}

/// <summary>
/// What the server answers: status, headers and body; <see cref="SendBytes"/> cuts the body short (the connection is
/// closed after that many body bytes although Content-Length announced them all).
/// </summary>
public sealed record LoopbackResponse(int Status, byte[] Body)
{
    /// <summary>Response headers besides Content-Length and Connection.</summary>
    public Dictionary<string, string> Headers { get; init; } = new();

    /// <summary>Body bytes actually sent; null for all.</summary>
    public int? SendBytes { get; init; }
}

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 (a port the system picks), one request per connection, for download tests
/// that must not leave the machine. Every request is recorded.
/// </summary>
public sealed class LoopbackHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<LoopbackRequest, LoopbackResponse> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public LoopbackHttpServer(Func<LoopbackRequest, LoopbackResponse> handler)
    {
        _handler = handler;
        _listener.Start();
        BaseUrl = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _loop = Task.Run(AcceptLoop);
    }

    /// <summary>http://127.0.0.1:PORT, without a trailing slash.</summary>
    public string BaseUrl { get; }

    /// <summary>Every request so far, in arrival order.</summary>
    public ConcurrentQueue<LoopbackRequest> Requests { get; } = new();

    /// <summary>A port nothing listens on (bound, then released), for "connection refused".</summary>
    public static int ClosedPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>
    /// Serves <paramref name="content"/> as a file: 200 with the whole file, or 206 with the rest when the request asks
    /// for a range (and <paramref name="ranges"/> is on) and its If-Range matches <paramref name="etag"/>.
    /// </summary>
    public static LoopbackResponse File(LoopbackRequest request, byte[] content, string? etag = "\"v1\"", bool ranges = true, int? sendBytes = null)
    {
        var headers = new Dictionary<string, string> { ["Content-Type"] = "application/octet-stream" };
        if (etag is not null) headers["ETag"] = etag;
        if (ranges) headers["Accept-Ranges"] = "bytes";
        if (ranges && request.Header("range") is { } range && range.StartsWith("bytes=", StringComparison.Ordinal)
            && (request.Header("if-range") is null || request.Header("if-range") == etag))
        {
            long from = long.Parse(range["bytes=".Length..].TrimEnd('-'), System.Globalization.CultureInfo.InvariantCulture);
            if (from >= content.Length) return new LoopbackResponse(416, []) { Headers = { ["Content-Range"] = $"bytes */{content.Length}" } };
            headers["Content-Range"] = $"bytes {from}-{content.Length - 1}/{content.Length}";
            return new LoopbackResponse(206, content[(int)from..]) { Headers = headers, SendBytes = sendBytes };
        }
        return new LoopbackResponse(200, content) { Headers = headers, SendBytes = sendBytes };
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                return;
            }
            _ = Task.Run(() => Serve(client));
        }
    }

    private void Serve(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var head = ReadHead(stream);
                if (head is null) return;
                var lines = head.Split("\r\n");
                var target = lines[0].Split(' ')[1];
                var headers = new Dictionary<string, string>();
                foreach (var line in lines.Skip(1))
                {
                    int colon = line.IndexOf(':');
                    if (colon > 0) headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
                }
                var request = new LoopbackRequest(target, headers);
                Requests.Enqueue(request);
                var response = _handler(request);
                var text = new StringBuilder();
                text.Append($"HTTP/1.1 {response.Status} {Reason(response.Status)}\r\n");
                foreach (var (k, v) in response.Headers) text.Append($"{k}: {v}\r\n");
                text.Append($"Content-Length: {response.Body.Length}\r\nConnection: close\r\n\r\n");
                stream.Write(Encoding.ASCII.GetBytes(text.ToString()));
                int n = Math.Min(response.SendBytes ?? response.Body.Length, response.Body.Length);
                stream.Write(response.Body, 0, n);
                stream.Flush();
                client.Client.Shutdown(SocketShutdown.Send);
            }
            catch (IOException)
            {
            }
            catch (SocketException)
            {
            }
        }
    }

    private static string? ReadHead(NetworkStream stream)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (stream.Read(one, 0, 1) == 1)
        {
            bytes.Add(one[0]);
            int c = bytes.Count;
            if (c >= 4 && bytes[c - 4] == '\r' && bytes[c - 3] == '\n' && bytes[c - 2] == '\r' && bytes[c - 1] == '\n')
                return Encoding.ASCII.GetString(bytes.ToArray(), 0, c - 4);
        }
        return null;
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        206 => "Partial Content",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        _ => "Status",
    };

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }
}
