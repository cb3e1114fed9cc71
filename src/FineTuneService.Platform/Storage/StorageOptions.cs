using System.ComponentModel.DataAnnotations;

namespace FineTuneService.Platform.Storage;

/// <summary>Configuration section <c>Storage</c>: the artifacts volume and upload limits.</summary>
public sealed class StorageOptions
{
    [Required] public string Root { get; set; } = "./data";
    [Range(1, long.MaxValue)] public long MaxDatasetBytes { get; set; } = 1L << 30;
    [Range(1, long.MaxValue)] public long MaxModelBytes { get; set; } = 10L << 30;
}
