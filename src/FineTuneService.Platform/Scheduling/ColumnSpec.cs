using System.Text.Json.Serialization;

namespace FineTuneService.Platform.Scheduling;

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ColumnSpec(string? Text = "text", string? TextPair = null, string? Label = "label");
