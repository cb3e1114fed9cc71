namespace FineTuneService.Platform.Hub;

/// <summary>The download cache, in the layout Hugging Face's own tools use (so a <c>HF_HUB_CACHE</c> pointed at it is
/// shared with them): <c>{root}/models--{org}--{name}/blobs/{etag}</c> holds each file once,
/// <c>snapshots/{commit}/{file}</c> is a relative symlink to its blob, <c>refs/{revision}</c> holds the commit sha.
/// Every part of a path was checked by <see cref="HubNames"/> (repo id, revision, commit, ETag) or is a kept model file
/// name from a fixed list.</summary>
public sealed class HubCache(string root)
{
    public string Root { get; } = root;

    public string RepoFolder(string repoId) => Path.Combine(Root, "models--" + repoId.Replace("/", "--", StringComparison.Ordinal));

    public string Blob(string repoId, string etag) => Path.Combine(RepoFolder(repoId), "blobs", etag);

    public string Snapshot(string repoId, string commit) => Path.Combine(RepoFolder(repoId), "snapshots", commit);

    /// <summary>Points <c>snapshots/{commit}/{file}</c> at its blob, as a relative link (the cache can move).</summary>
    public void Link(string repoId, string commit, string file, string etag)
    {
        var link = Path.Combine(Snapshot(repoId, commit), file);
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        // Made aside and renamed over the old one: two imports of one commit may link the same file at once.
        var fresh = link + "." + Path.GetRandomFileName();
        File.CreateSymbolicLink(fresh, Path.Combine("..", "..", "blobs", etag));
        File.Move(fresh, link, overwrite: true);
    }

    /// <summary>Records which commit a branch or tag named when it was resolved (<c>refs/main</c>).</summary>
    public void Ref(string repoId, string revision, string commit)
    {
        if (revision == commit) return;
        var path = Path.Combine(RepoFolder(repoId), "refs", revision);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, commit);
    }
}
