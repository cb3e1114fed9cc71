using System.Text.Json.Nodes;
using FineTuneService.Training.Inference;
using FineTuneService.Training.Tokenization;

namespace FineTuneService.Platform.Serving;

/// <summary>The wire format of the core's predictions and encodings: snake_case fields, one object per input.</summary>
public static class PredictionJson
{
    public static JsonObject ToJson(Prediction prediction) => prediction switch
    {
        Prediction.Classification c => Classification(c),
        Prediction.Regression r => new JsonObject { ["value"] = r.Value },
        Prediction.Entities e => new JsonObject { ["entities"] = new JsonArray([.. e.Items.Select(Entity)]) },
        Prediction.MaskFills m => new JsonObject { ["masks"] = new JsonArray([.. m.Masks.Select(MaskFill)]) },
        Prediction.Generation g => new JsonObject { ["generated_text"] = g.GeneratedText, ["new_tokens"] = g.NewTokens },
        _ => throw new ArgumentOutOfRangeException(nameof(prediction), prediction.GetType().Name, "not a prediction the service answers"),
    };

    public static JsonObject ToJson(Encoding e) => new()
    {
        ["ids"] = new JsonArray([.. e.Ids.Select(id => (JsonNode)id)]),
        ["tokens"] = new JsonArray([.. e.Tokens.Select(t => (JsonNode)t)]),
        ["offsets"] = new JsonArray([.. e.Offsets.Select(o => (JsonNode)new JsonArray(o.Start, o.End))]),
        ["type_ids"] = new JsonArray([.. e.TypeIds.Select(t => (JsonNode)t)]),
    };

    static JsonObject Classification(Prediction.Classification c)
    {
        var scores = new JsonObject();
        foreach (var (label, score) in c.Scores)
        {
            scores[label] = score;
        }
        var json = new JsonObject { ["label"] = c.Label, ["score"] = c.Score, ["scores"] = scores };
        if (c.Labels is { } chosen)
        {
            json["labels"] = new JsonArray([.. chosen.Select(l => (JsonNode)l)]);
        }
        return json;
    }

    static JsonNode Entity(Prediction.Entity e) =>
        new JsonObject { ["entity"] = e.Type, ["text"] = e.Text, ["start"] = e.Start, ["end"] = e.End, ["score"] = e.Score };

    static JsonNode MaskFill(Prediction.MaskFill m) => new JsonObject
    {
        ["position"] = m.Position,
        ["candidates"] = new JsonArray([.. m.Candidates.Select(c => (JsonNode)new JsonObject { ["token"] = c.Token, ["token_id"] = c.TokenId, ["score"] = c.Score })]),
    };
}
