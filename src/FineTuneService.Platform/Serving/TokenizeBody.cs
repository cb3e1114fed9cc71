namespace FineTuneService.Platform.Serving;

/// <summary>The body of <c>POST /models/{id}/tokenize</c> (OpenAPI shape).</summary>
/// <param name="Inputs">A string, a {text, text_pair} object, or a list of either.</param>
/// <param name="Truncation">true (longest_first), false, or longest_first, only_first, only_second; needs max_length.</param>
/// <param name="MaxLength">Tokens per input after truncation, special tokens included.</param>
/// <param name="AddSpecialTokens">Add [CLS]/[SEP] (or the model's own); default true.</param>
public sealed record TokenizeBody(PredictInputs Inputs, Truncation Truncation = default, int? MaxLength = null, bool? AddSpecialTokens = null);
