using System.ComponentModel.DataAnnotations;

namespace FineTuneService.Platform.Storage;

/// <summary>Configuration section <c>Storage</c>: the artifacts volume, upload limits and the disk budget of checkpoints.</summary>
public sealed class StorageOptions
{
    /// <summary>Default: <c>$XDG_DATA_HOME/finetuneservice</c>, i.e. <c>~/.local/share/finetuneservice</c>, whatever the working directory.</summary>
    [Required] public string Root { get; set; } = DefaultRoot();

    static string DefaultRoot() => Path.Combine(
        Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg
            ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share"),
        "finetuneservice");
    [Range(1, long.MaxValue)] public long MaxDatasetBytes { get; set; } = 1L << 30;
    [Range(1, long.MaxValue)] public long MaxModelBytes { get; set; } = 10L << 30;
    /// <summary>The most the artifacts folder may hold; a checkpoint that would pass it fails its job. Null: no cap.</summary>
    [Range(1, long.MaxValue)] public long? MaxBytes { get; set; }
    /// <summary>Free disk that must remain after a checkpoint is written.</summary>
    [Range(0, long.MaxValue)] public long MinFreeBytes { get; set; } = 1L << 30;
}
