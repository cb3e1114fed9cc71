using System.Text.RegularExpressions;

namespace FineTuneService.Platform.Hub;

/// <summary>Every name that comes from a client or from the Hub and ends up in a URL or a path is checked here first:
/// repo ids and revisions (client), commit shas and ETags (Hub). A hostile ETag or commit never names a file.</summary>
public static partial class HubNames
{
    public const int MaxRevisionLength = 255;

    /// <summary><c>org/name</c> (or a legacy <c>name</c>) as the Hub allows them: letters, digits, <c>-_.</c>, at most 96
    /// characters each, no <c>--</c> or <c>..</c> (the cache folder joins parts with <c>--</c>).</summary>
    [GeneratedRegex(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?/)?[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$")]
    private static partial Regex RepoIdPattern();

    [GeneratedRegex(@"^[A-Za-z0-9._/-]+$")]
    private static partial Regex RevisionPattern();

    [GeneratedRegex(@"^[0-9a-f]{40}$")]
    private static partial Regex CommitPattern();

    /// <summary>A git blob sha1 (small files) or an LFS sha256.</summary>
    [GeneratedRegex(@"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")]
    private static partial Regex EtagPattern();

    public static string? RepoIdProblem(string repoId) =>
        RepoIdPattern().IsMatch(repoId) && !repoId.Contains("--", StringComparison.Ordinal) && !repoId.Contains("..", StringComparison.Ordinal)
            ? null
            : "a Hub model id: 'org/name' (letters, digits, '-', '_', '.'; at most 96 characters each; no '--' or '..')";

    /// <summary>Branches, tags (<c>v1.0</c>), <c>refs/pr/N</c> and commit shas; never a <c>.</c> or <c>..</c> segment.</summary>
    public static string? RevisionProblem(string revision) =>
        revision.Length <= MaxRevisionLength && RevisionPattern().IsMatch(revision)
        && revision.Split('/').All(segment => segment.Length > 0 && segment is not "." and not ".." && !segment.EndsWith(".lock", StringComparison.Ordinal))
            ? null
            : $"a branch, tag or commit (letters, digits, '-', '_', '.', '/'; at most {MaxRevisionLength} characters; no empty, '.' or '..' part)";

    public static bool IsCommit(string? value) => value is not null && CommitPattern().IsMatch(value);

    /// <summary>The ETag as Hugging Face's tools store it (no <c>W/</c>, no quotes), or null when it is not a hash.</summary>
    public static string? Etag(string? header)
    {
        if (header is null) return null;
        var value = header.StartsWith("W/", StringComparison.Ordinal) ? header[2..] : header;
        value = value.Trim('"');
        return EtagPattern().IsMatch(value) ? value : null;
    }
}
