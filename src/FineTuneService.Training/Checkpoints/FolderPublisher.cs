namespace FineTuneService.Training.Checkpoints;

/// <summary>Writes a folder next to its final place and renames it, so a folder that exists is complete.</summary>
public static class FolderPublisher
{
    /// <summary>Leftovers of a publish that a killed worker left half-written are removed first.</summary>
    public static void Publish(string dir, Action<string> write)
    {
        dir = Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(dir)!;
        Directory.CreateDirectory(parent);
        foreach (var stale in Directory.GetDirectories(parent, Path.GetFileName(dir) + ".tmp-*")) Directory.Delete(stale, recursive: true);
        var temp = dir + ".tmp-" + Guid.NewGuid().ToString("N");
        write(temp);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.Move(temp, dir);
    }
}
