using System.ComponentModel.DataAnnotations;

namespace FineTuneService.Platform.Scheduling;

/// <summary>Configuration section <c>Worker</c>: the devices a worker host trains on, one Hangfire worker each.</summary>
public sealed class WorkerOptions
{
    /// <summary>Comma-separated: <c>cpu</c>, <c>cuda:0,cuda:1</c>, or <c>auto</c> (CUDA when available).</summary>
    [Required] public string Devices { get; set; } = "auto";

    public IReadOnlyList<string> DeviceList =>
        [.. Devices.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
