namespace FineTuneService.Platform.Serving;

/// <summary>One input with an optional second text (sentence pairs).</summary>
public sealed record TextInput(string Text, string? TextPair = null);
