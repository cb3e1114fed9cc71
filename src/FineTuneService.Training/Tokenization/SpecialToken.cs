namespace FineTuneService.Training.Tokenization;

/// <summary>A Hugging Face added token: <c>[CLS]</c>, <c>&lt;|endoftext|&gt;</c>, … with its id.</summary>
public sealed record SpecialToken(int Id, string Content);
