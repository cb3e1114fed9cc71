namespace FineTuneService.Platform.Serving;

/// <summary>Stands for <c>truncation</c>'s union in the OpenAPI document (boolean | strategy name).</summary>
public readonly struct Truncation;
