namespace FineTuneService.Platform.Serving;

/// <summary>Stands for <c>inputs</c>' union in the OpenAPI document (string | TextInput | array of either); a struct, so
/// that the document does not offer null.</summary>
public readonly struct PredictInputs;
