namespace FineTuneService.Platform.Registry;

/// <summary>The optional body of <c>POST /models/{id}/quantize</c> (OpenAPI shape; <see cref="ModelQuantization"/> reads it).</summary>
/// <param name="Name">The int8 copy's name.</param>
/// <param name="Evaluation">A labelled dataset to measure the copy against its fp32 model on.</param>
public sealed record QuantizeBody(string? Name, QuantizeEvaluationBody? Evaluation);
