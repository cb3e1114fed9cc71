using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FineTuneService.Platform.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Hub;

/// <summary>The Hugging Face Hub's download protocol, as <c>huggingface_hub</c>'s <c>file_download.py</c> speaks it:
/// <c>GET /api/models/{repo}/revision/{revision}?blobs=true</c> for the commit and files; per file
/// <c>HEAD /{repo}/resolve/{commit}/{file}</c> without following a redirect to another host, reading <c>X-Repo-Commit</c>,
/// <c>X-Linked-Etag</c> (else <c>ETag</c>), <c>X-Linked-Size</c> (else <c>Content-Length</c>) and <c>Location</c>; then a
/// <c>GET</c> of that location into <c>blobs/{etag}.incomplete</c>, resumed with <c>Range</c>, checked for size and hash
/// (sha256 for LFS files, git's blob sha1 for the others). The Bearer token goes only to the endpoint's own origin,
/// never to the CDN a redirect leads to.</summary>
public sealed class HubClient(HttpClient http, IOptions<HubOptions> options, ILogger<HubClient> logger)
{
    public const string HttpClientName = "hub";
    const int MaxRedirects = 5;
    const long MaxListingBytes = 16L << 20;
    const int MaxFiles = 100_000;

    HubOptions Options => options.Value;
    TimeSpan Timeout => TimeSpan.FromSeconds(Options.TimeoutSeconds);

    public async Task<HubRevision> ResolveAsync(string repoId, string revision, string? token, CancellationToken cancellationToken)
    {
        var url = new Uri(Options.EndpointUri, $"api/models/{repoId}/revision/{Uri.EscapeDataString(revision)}?blobs=true");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        using var response = await SendAsync(HttpMethod.Get, url, token, null, followToOtherHosts: false, repoId, timeout.Token);
        if (response.StatusCode != HttpStatusCode.OK) throw Refusal(response, repoId, revision);
        if (response.Content.Headers.ContentLength > MaxListingBytes) throw Protocol(repoId, $"its file listing is larger than {MaxListingBytes >> 20} MiB");
        var body = await ReadBoundedAsync(response, MaxListingBytes, repoId, timeout.Token);
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            var sha = root.TryGetProperty("sha", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            if (!HubNames.IsCommit(sha)) throw Protocol(repoId, "the revision API answered no 40-hex commit sha");
            var files = new List<HubFile>();
            if (root.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array)
            {
                foreach (var sibling in siblings.EnumerateArray())
                {
                    if (files.Count == MaxFiles) throw Protocol(repoId, $"it lists more than {MaxFiles} files");
                    if (sibling.TryGetProperty("rfilename", out var name) && name.ValueKind == JsonValueKind.String)
                    {
                        long? size = sibling.TryGetProperty("size", out var z) && z.TryGetInt64(out var n) && n >= 0 ? n : null;
                        var sha256 = sibling.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object
                            && lfs.TryGetProperty("sha256", out var h) && h.ValueKind == JsonValueKind.String ? h.GetString() : null;
                        files.Add(new HubFile(name.GetString()!, size, sha256));
                    }
                }
            }
            return new HubRevision(sha!, files);
        }
        catch (JsonException e) { throw Protocol(repoId, $"the revision API answered invalid JSON: {e.Message}"); }
    }

    /// <summary>The file's blob in the cache, downloaded (or resumed) unless it is there already, and linked into the
    /// commit's snapshot. <paramref name="progress"/> hears of every byte that lands (all of a cached file at once).</summary>
    public async Task<string> FetchAsync(HubCache cache, string repoId, string commit, HubFile file, long maxBytes, string? token,
        Action<long> progress, CancellationToken cancellationToken)
    {
        var resolve = new Uri(Options.EndpointUri, $"{repoId}/resolve/{commit}/{Uri.EscapeDataString(file.Name)}");
        string etag;
        long size;
        Uri location;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(Timeout);
            using var head = await SendAsync(HttpMethod.Head, resolve, token, null, followToOtherHosts: false, repoId, timeout.Token);
            if ((int)head.StatusCode is not (200 or 301 or 302 or 303 or 307 or 308)) throw Refusal(head, repoId, commit, file.Name);
            var headers = head.Headers;
            if (Header(headers, "X-Repo-Commit") is { } served && served != commit)
                throw Protocol(repoId, $"'{file.Name}' was served from commit '{Shown(served)}', not {commit}");
            etag = HubNames.Etag(Header(headers, "X-Linked-Etag") ?? Header(headers, "ETag"))
                ?? throw Protocol(repoId, $"'{file.Name}' has no ETag that is a sha1 or sha256");
            var sizeHeader = Header(headers, "X-Linked-Size") ?? head.Content.Headers.ContentLength?.ToString(CultureInfo.InvariantCulture);
            if (!long.TryParse(sizeHeader, NumberStyles.None, CultureInfo.InvariantCulture, out size))
                throw Protocol(repoId, $"'{file.Name}' has no size (X-Linked-Size, Content-Length)");
            location = head.Headers.Location is { } to ? new Uri(head.RequestMessage!.RequestUri!, to) : head.RequestMessage!.RequestUri!;
        }
        // Sized before a byte is written: the announced size against the file's limit and against the listing.
        if (size > maxBytes) throw new PayloadTooLargeException("hub_id", maxBytes);
        if (file.Size is { } listed && listed != size) throw Protocol(repoId, $"'{file.Name}' is {size} bytes, the listing said {listed}");
        if (file.Sha256 is { } lfs && lfs != etag) throw Protocol(repoId, $"'{file.Name}' has ETag {etag}, the listing's sha256 is {Shown(lfs)}");

        var blob = cache.Blob(repoId, etag);
        if (!(File.Exists(blob) && new FileInfo(blob).Length == size))
            await DownloadAsync(blob, location, token, repoId, file.Name, etag, size, progress, cancellationToken);
        else
            progress(size);
        cache.Link(repoId, commit, file.Name, etag);
        return blob;
    }

    async Task DownloadAsync(string blob, Uri location, string? token, string repoId, string name, string etag, long size,
        Action<long> progress, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        var partial = blob + ".incomplete";
        await using var target = await OpenExclusiveAsync(partial, blob, cancellationToken);
        if (target is null)
        {
            progress(size); // another import finished it meanwhile
            return;
        }
        if (target.Length > size) target.SetLength(0);
        progress(target.Length);
        for (var attempt = 1; target.Length < size; attempt++)
        {
            try
            {
                await ReceiveAsync(target, location, token, repoId, name, size, progress, cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                if (attempt >= Options.MaxAttemptsPerFile)
                {
                    throw new ProblemException(ProblemCodes.HubUnavailable, $"{repoId}: '{name}' stopped at byte {target.Length} of {size} on {attempt} connections; the last: {e.Message}");
                }
                logger.LogWarning("Hub download of {Repo} {File} stopped at byte {Offset} of {Size} ({Error}); resuming", repoId, name, target.Length, size, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken);
            }
        }

        target.Position = 0;
        var actual = etag.Length == 64 ? await Sha256Async(target, cancellationToken) : await GitBlobSha1Async(target, size, cancellationToken);
        if (actual != etag)
        {
            await target.DisposeAsync();
            File.Delete(partial);
            throw new ProblemException(ProblemCodes.HubChecksumMismatch, $"{repoId}: '{name}' hashes to {actual}, its ETag says {etag}; nothing was kept");
        }
        await target.DisposeAsync();
        File.Move(partial, blob, overwrite: true);
    }

    /// <summary>One connection: asks for the bytes after those already there and appends them.</summary>
    async Task ReceiveAsync(FileStream target, Uri location, string? token, string repoId, string name, long size, Action<long> progress,
        CancellationToken cancellationToken)
    {
        var offset = target.Length;
        using var connecting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        connecting.CancelAfter(Timeout);
        using var response = await SendAsync(HttpMethod.Get, location, token, offset > 0 ? offset : null, followToOtherHosts: true, repoId, connecting.Token);
        // From here on each read has its own idle timeout.
        connecting.CancelAfter(System.Threading.Timeout.InfiniteTimeSpan);
        switch (response.StatusCode)
        {
            case HttpStatusCode.PartialContent when response.Content.Headers.ContentRange is { From: { } from } && from == offset:
                break;
            case HttpStatusCode.OK or HttpStatusCode.PartialContent or HttpStatusCode.RequestedRangeNotSatisfiable:
                // No resume offered (or not at our offset): start over.
                target.SetLength(0);
                progress(-offset);
                if (response.StatusCode != HttpStatusCode.OK) throw new IOException($"the server answered {(int)response.StatusCode} to Range bytes={offset}-");
                offset = 0;
                break;
            default:
                throw (int)response.StatusCode is 401 or 403 or 404 ? Refusal(response, repoId, null, name)
                    : new HttpRequestException($"HTTP {(int)response.StatusCode}", null, response.StatusCode);
        }
        if (offset + (response.Content.Headers.ContentLength ?? 0) > size) throw Protocol(repoId, $"'{name}' is longer than its announced {size} bytes");

        target.Position = offset;
        await using var source = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[1 << 16];
        while (true)
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            idle.CancelAfter(Timeout);
            var read = await source.ReadAsync(buffer, idle.Token);
            if (read == 0) break;
            if (target.Length + read > size) throw Protocol(repoId, $"'{name}' is longer than its announced {size} bytes");
            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            progress(read);
        }
        await target.FlushAsync(cancellationToken);
        if (target.Length < size) throw new IOException($"the connection closed at byte {target.Length} of {size}");
    }

    /// <summary>The partial file, held exclusively so two imports never write one blob; null once another has finished it.</summary>
    static async Task<FileStream?> OpenExclusiveAsync(string partial, string blob, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Unbuffered (the reads come in 64 KiB chunks): what has arrived is in the file when the process dies, to resume from.
            try { return new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0, useAsync: true); }
            catch (IOException) when (File.Exists(partial))
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                if (File.Exists(blob) && !File.Exists(partial)) return null;
            }
        }
    }

    /// <summary>Sends with the token only to the endpoint's origin, following redirects by hand: one to another host
    /// goes without <c>Authorization</c> (or, for <paramref name="followToOtherHosts"/> false, is returned as it is).</summary>
    async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, string? token, long? from, bool followToOtherHosts, string repoId,
        CancellationToken cancellationToken)
    {
        for (var hop = 0; ; hop++)
        {
            if (!HubOptions.Acceptable(url)) throw Protocol(repoId, $"a redirect led to {url.GetLeftPart(UriPartial.Authority)}, which is neither HTTPS nor this machine");
            using var request = new HttpRequestMessage(method, url);
            var ownOrigin = SameOrigin(url, Options.EndpointUri);
            if (ownOrigin && token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            if (from is { } offset) request.Headers.Range = new RangeHeaderValue(offset, null);
            HttpResponseMessage response;
            try { response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken); }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                if (from is not null || method == HttpMethod.Get && followToOtherHosts) throw; // a download retries
                throw new ProblemException(ProblemCodes.HubUnavailable, $"{Options.EndpointUri.GetLeftPart(UriPartial.Authority)} did not answer for {repoId}: {e.Message}");
            }
            if ((int)response.StatusCode is not (301 or 302 or 303 or 307 or 308) || response.Headers.Location is not { } next) return response;
            var target = new Uri(url, next);
            if (!followToOtherHosts && !SameOrigin(target, Options.EndpointUri)) return response;
            if (hop == MaxRedirects)
            {
                response.Dispose();
                throw Protocol(repoId, $"more than {MaxRedirects} redirects");
            }
            response.Dispose();
            url = target;
        }
    }

    static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    /// <summary>The header as sent, even when it does not parse (a hostile ETag must be seen to be refused).</summary>
    static string? Header(HttpResponseHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>A value from the Hub, shown in an error only as far as it is harmless.</summary>
    static string Shown(string value) => value.Length <= 80 && value.All(char.IsAsciiLetterOrDigit) ? value : "(not a hash)";

    static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, long limit, string repoId, CancellationToken cancellationToken)
    {
        await using var source = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit) throw Protocol(repoId, $"its file listing is larger than {limit >> 20} MiB");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    static async Task<string> Sha256Async(Stream stream, CancellationToken cancellationToken) =>
        Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));

    /// <summary>Git's object id of a blob: sha1 over <c>blob {size}\0</c> and the content (what the Hub's ETag of a
    /// small, non-LFS file is).</summary>
    static async Task<string> GitBlobSha1Async(Stream stream, long size, CancellationToken cancellationToken)
    {
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(Encoding.ASCII.GetBytes($"blob {size.ToString(CultureInfo.InvariantCulture)}\0"));
        var buffer = new byte[1 << 16];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0) sha1.AppendData(buffer, 0, read);
        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }

    /// <summary>The Hub's refusals as our problems: 401/403 gated or private, 404 by what is missing (its <c>X-Error-Code</c>).</summary>
    static ProblemException Refusal(HttpResponseMessage response, string repoId, string? revision, string? file = null)
    {
        var status = (int)response.StatusCode;
        var code = Header(response.Headers, "X-Error-Code");
        return status switch
        {
            401 or 403 => new ProblemException(ProblemCodes.HubRepoGated, $"{repoId}: the Hub answered {status}{(code is null ? "" : $" ({Shown(code)})")}: the repository is gated or private (or does not exist). " +
                "Accept its terms on the Hub with the account whose token Hub:Token (or Hub:TenantTokens:<tenant id>) holds."),
            404 when code == "RevisionNotFound" => new ProblemException(ProblemCodes.HubRevisionNotFound, $"{repoId} has no revision '{revision}'."),
            404 when file is not null => new ProblemException(ProblemCodes.HubFileNotFound, $"{repoId} has no '{file}' at {revision ?? "that commit"}."),
            404 => new ProblemException(ProblemCodes.HubRepoNotFound, $"The Hub has no model '{repoId}'."),
            _ => new ProblemException(ProblemCodes.HubUnavailable, $"{repoId}: the Hub answered {status}; try again later."),
        };
    }

    static ProblemException Protocol(string repoId, string detail) =>
        new(ProblemCodes.HubProtocolError, $"{repoId}: {detail}");
}
