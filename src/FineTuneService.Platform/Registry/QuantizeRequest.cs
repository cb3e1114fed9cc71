namespace FineTuneService.Platform.Registry;

/// <summary><c>POST /models/{id}/quantize</c>'s body: an optional <c>name</c> and <c>evaluation</c>, a labelled dataset to
/// measure the int8 copy against its fp32 model on.</summary>
public sealed record QuantizeRequest(string? Name, QuantizeEvaluation? Evaluation);
