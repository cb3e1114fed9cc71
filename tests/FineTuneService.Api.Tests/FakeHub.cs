using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FineTuneService.Api.Tests;

/// <summary>A local Hugging Face Hub: Kestrel on loopback speaking the Hub's download protocol (the revision API,
/// <c>resolve</c> with <c>X-Repo-Commit</c>, <c>X-Linked-Etag</c>, <c>X-Linked-Size</c>, git-sha1 ETags for small files),
/// which redirects every LFS file (<c>*.safetensors</c>, <c>*.bin</c>) to a second loopback origin, the "CDN", as the
/// real Hub does. It records every request, and can drop a CDN connection mid-file once per blob.</summary>
public sealed class FakeHub : IAsyncDisposable
{
    /// <param name="Token">When set, the repo is gated: only this Bearer token gets in (401 otherwise).</param>
    /// <param name="ListedSizes">Sizes the listing claims instead of the real ones.</param>
    /// <param name="Etags">ETags served instead of the real ones (hostile values).</param>
    /// <param name="Unsized">The listing names the files without sizes (a mirror that ignores <c>blobs=true</c>).</param>
    public sealed record Repo(string Commit, IReadOnlyDictionary<string, byte[]> Files, string? Token = null,
        IReadOnlyDictionary<string, long>? ListedSizes = null, IReadOnlyDictionary<string, string>? Etags = null, bool Unsized = false);

    public sealed record Seen(string Origin, string Method, string Path, string? Authorization, string? Range);

    readonly WebApplication hub;
    readonly WebApplication cdn;
    readonly ConcurrentDictionary<string, bool> dropped = new();

    public ConcurrentDictionary<string, Repo> Repos { get; } = new();
    public ConcurrentQueue<Seen> Requests { get; } = new();
    /// <summary>Blobs (by sha256) whose first CDN download is cut after half the bytes.</summary>
    public ConcurrentDictionary<string, bool> DropOnce { get; } = new();
    /// <summary>Blobs (by sha256) whose CDN downloads send half the bytes and then hang until the task completes.</summary>
    public ConcurrentDictionary<string, TaskCompletionSource> Stall { get; } = new();
    /// <summary>Blobs (by sha256) the CDN serves with one byte flipped.</summary>
    public ConcurrentDictionary<string, bool> Corrupt { get; } = new();
    public Uri Endpoint { get; private set; } = null!;
    public Uri CdnEndpoint { get; private set; } = null!;

    FakeHub()
    {
        hub = Loopback.Build();
        cdn = Loopback.Build();
        hub.MapGet("/api/models/{org}/{name}/revision/{revision}", Revision);
        hub.MapMethods("/{org}/{name}/resolve/{revision}/{file}", ["HEAD", "GET"], Resolve);
        cdn.MapGet("/blobs/{sha}", Blob);
    }

    public static async Task<FakeHub> StartAsync()
    {
        var fake = new FakeHub();
        fake.Endpoint = await Loopback.StartAsync(fake.hub);
        fake.CdnEndpoint = await Loopback.StartAsync(fake.cdn);
        return fake;
    }

    public static string Commit(string seed) => Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(seed)));

    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>What git names a blob, and the Hub sends as the ETag of a small file.</summary>
    public static string GitSha1(byte[] content) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));

    static bool IsLfs(string name) => name.EndsWith(".safetensors", StringComparison.Ordinal) || name.EndsWith(".bin", StringComparison.Ordinal);

    void Record(string origin, HttpContext context) => Requests.Enqueue(new Seen(origin, context.Request.Method, context.Request.Path,
        context.Request.Headers.Authorization.FirstOrDefault(), context.Request.Headers.Range.FirstOrDefault()));

    /// <summary>The repo, or the Hub's refusal: 404 RepoNotFound, 401 for a gated repo without its token.</summary>
    Repo? Find(HttpContext context, string repoId)
    {
        if (!Repos.TryGetValue(repoId, out var repo))
        {
            context.Response.StatusCode = 404;
            context.Response.Headers["X-Error-Code"] = "RepoNotFound";
            return null;
        }
        if (repo.Token is { } token && context.Request.Headers.Authorization != $"Bearer {token}")
        {
            context.Response.StatusCode = 401;
            context.Response.Headers["X-Error-Code"] = "GatedRepo";
            return null;
        }
        return repo;
    }

    async Task Revision(HttpContext context, string org, string name, string revision)
    {
        Record("hub", context);
        if (Find(context, $"{org}/{name}") is not { } repo) return;
        if (revision != "main" && revision != repo.Commit)
        {
            context.Response.StatusCode = 404;
            context.Response.Headers["X-Error-Code"] = "RevisionNotFound";
            return;
        }
        var siblings = repo.Files.Select(f =>
        {
            var size = repo.ListedSizes?.GetValueOrDefault(f.Key) ?? f.Value.Length;
            return repo.Unsized ? new { rfilename = f.Key } : IsLfs(f.Key)
                ? (object)new { rfilename = f.Key, size, blobId = GitSha1(f.Value), lfs = new { sha256 = Sha256(f.Value), size, pointerSize = 134 } }
                : new { rfilename = f.Key, size, blobId = GitSha1(f.Value) };
        });
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { id = $"{org}/{name}", sha = repo.Commit, siblings }));
    }

    async Task Resolve(HttpContext context, string org, string name, string revision, string file)
    {
        Record("hub", context);
        if (Find(context, $"{org}/{name}") is not { } repo) return;
        if (revision != repo.Commit && revision != "main" || !repo.Files.TryGetValue(file, out var content))
        {
            context.Response.StatusCode = 404;
            context.Response.Headers["X-Error-Code"] = "EntryNotFound";
            return;
        }
        var headers = context.Response.Headers;
        headers["X-Repo-Commit"] = repo.Commit;
        var etag = repo.Etags?.GetValueOrDefault(file);
        if (IsLfs(file))
        {
            headers["X-Linked-Etag"] = $"\"{etag ?? Sha256(content)}\"";
            headers["X-Linked-Size"] = content.Length.ToString();
            headers.ETag = $"\"{GitSha1(content)}\"";
            headers.Location = new Uri(CdnEndpoint, $"blobs/{Sha256(content)}?X-Amz-Signature=signed").ToString();
            context.Response.StatusCode = 302;
            return;
        }
        headers.ETag = $"\"{etag ?? GitSha1(content)}\"";
        context.Response.ContentLength = content.Length;
        if (HttpMethods.IsGet(context.Request.Method)) await context.Response.Body.WriteAsync(content);
    }

    async Task Blob(HttpContext context, string sha)
    {
        Record("cdn", context);
        var content = Repos.Values.SelectMany(r => r.Files.Values).FirstOrDefault(c => Sha256(c) == sha);
        if (content is null)
        {
            context.Response.StatusCode = 404;
            return;
        }
        var from = 0;
        if (context.Request.Headers.Range.FirstOrDefault() is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = int.Parse(range["bytes=".Length..^1]);
            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = $"bytes {from}-{content.Length - 1}/{content.Length}";
        }
        context.Response.ContentLength = content.Length - from;
        if (DropOnce.ContainsKey(sha) && dropped.TryAdd(sha, true))
        {
            // Half the file, then the connection goes away.
            await context.Response.Body.WriteAsync(content.AsMemory(from, (content.Length - from) / 2));
            await context.Response.Body.FlushAsync();
            // Time for the bytes to reach the client: an abort (a reset) may discard what it has not read yet.
            await Task.Delay(500);
            context.Abort();
            return;
        }
        if (Stall.TryGetValue(sha, out var stall) && !stall.Task.IsCompleted)
        {
            await context.Response.Body.WriteAsync(content.AsMemory(from, (content.Length - from) / 2));
            await context.Response.Body.FlushAsync();
            await Task.WhenAny(stall.Task, Task.Delay(Timeout.Infinite, context.RequestAborted));
            context.Abort();
            return;
        }
        if (Corrupt.ContainsKey(sha)) content = [.. content[..^1], (byte)(content[^1] ^ 0xff)];
        await context.Response.Body.WriteAsync(content.AsMemory(from));
    }

    public async ValueTask DisposeAsync()
    {
        await hub.DisposeAsync();
        await cdn.DisposeAsync();
    }
}
