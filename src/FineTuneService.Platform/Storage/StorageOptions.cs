using System.ComponentModel.DataAnnotations;

namespace FineTuneService.Platform.Storage;

/// <summary>Configuration section <c>Storage</c>: the artifacts volume and upload limits.</summary>
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
}
