using System.Text.Json.Nodes;
using FineTuneService.Training.Inference;

namespace FineTuneService.Platform.Serving;

public sealed record PredictResponse(Guid ModelId, ModelKind Kind, IReadOnlyList<JsonObject> Predictions);
