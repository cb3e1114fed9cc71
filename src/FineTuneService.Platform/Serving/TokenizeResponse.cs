using System.Text.Json.Nodes;

namespace FineTuneService.Platform.Serving;

public sealed record TokenizeResponse(Guid ModelId, IReadOnlyList<JsonObject> Encodings);
