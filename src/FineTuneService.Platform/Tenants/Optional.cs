namespace FineTuneService.Platform.Tenants;

/// <summary>A JSON property that may be absent (keep) or present, even as null (set).</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(OptionalConverterFactory))]
public readonly record struct Optional<T>(bool IsSet, T Value);
