using System.Text.Json.Nodes;
using FineTuneService.Training.Inference;
using FineTuneService.Training.Models;

namespace FineTuneService.Platform.Serving;

public sealed record PredictResponse(Guid ModelId, ModelKind Kind, IReadOnlyList<JsonObject> Predictions);
