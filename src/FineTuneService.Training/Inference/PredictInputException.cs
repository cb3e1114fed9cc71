namespace FineTuneService.Training.Inference;

/// <summary>An input the loaded model cannot take (no [MASK] for a masked LM, a prompt too long, …); its field names
/// the request field, e.g. <c>inputs[2]</c>.</summary>
public sealed class PredictInputException(string field, string message) : InvalidInputException(message, field);
