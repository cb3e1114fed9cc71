using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Storage;

/// <summary>Where artifacts live on the volume: <c>datasets/&lt;id&gt;/data.&lt;ext&gt;</c>, <c>models/&lt;id&gt;/</c>,
/// <c>jobs/&lt;id&gt;/</c>. Uploads land under <c>tmp/</c> with random names first. Client file names are never paths.</summary>
public sealed class ArtifactStore(IOptions<StorageOptions> options)
{
    public string Root { get; } = Path.GetFullPath(options.Value.Root);

    public string FullPath(string relative) => Path.Combine(Root, relative);

    public static string DatasetFolder(Guid id) => Path.Combine("datasets", id.ToString("N"));
    public static string ModelFolder(Guid id) => Path.Combine("models", id.ToString("N"));
    public static string JobFolder(Guid id) => Path.Combine("jobs", id.ToString("N"));

    /// <summary>A new, empty, randomly named folder under <c>tmp/</c>; move it into place once its content is accepted.</summary>
    public string NewTempFolder()
    {
        var path = Path.Combine(Root, "tmp", Path.GetRandomFileName());
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Moves an accepted temp folder to its final relative place.</summary>
    public void Promote(string tempFolder, string relative)
    {
        var target = FullPath(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        Directory.Move(tempFolder, target);
    }

    public void DeleteFolder(string relativeOrFull)
    {
        var path = Path.IsPathRooted(relativeOrFull) ? relativeOrFull : FullPath(relativeOrFull);
        if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
    }

    public static long FolderSize(string path) =>
        new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
}
