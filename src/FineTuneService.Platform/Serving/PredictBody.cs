namespace FineTuneService.Platform.Serving;

/// <summary>The body of <c>POST /models/{id}/predict</c> (OpenAPI shape; <see cref="PredictRequest"/> reads it).</summary>
/// <param name="Inputs">A string, a {text, text_pair} object, or a list of either (at most Inference:MaxInputsPerRequest).</param>
/// <param name="TopK">Masked LM: candidates per [MASK] (default 5); causal LM: sample from the k most likely tokens.</param>
/// <param name="MaxNewTokens">Causal LM: tokens to generate (default 20, at most Inference:MaxNewTokens).</param>
/// <param name="DoSample">Causal LM: sample instead of greedy decoding (implied by temperature, top_k or top_p).</param>
/// <param name="Temperature">Causal LM: softmax temperature.</param>
/// <param name="TopP">Causal LM: nucleus sampling threshold, in (0, 1].</param>
/// <param name="Seed">Causal LM: makes a sample reproducible.</param>
public sealed record PredictBody(PredictInputs Inputs, int? TopK = null, int? MaxNewTokens = null, bool? DoSample = null,
    double? Temperature = null, double? TopP = null, long? Seed = null);
