using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuneService.Platform.Http;
using FineTuneService.Training.Inference;
using FineTuneService.Training.Tokenization;
using Microsoft.AspNetCore.Http;

namespace FineTuneService.Platform.Serving;

/// <summary>Reads the JSON bodies of predict and tokenize strictly: every mistake is a
/// <see cref="RequestValidationException"/> naming its field, unknown fields included.</summary>
static class PredictRequest
{
    static readonly string[] PredictFields = ["inputs", "top_k", "max_new_tokens", "do_sample", "temperature", "top_p", "seed"];
    static readonly string[] TokenizeFields = ["inputs", "truncation", "max_length", "add_special_tokens"];

    public static async Task<JsonObject> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            throw new RequestValidationException("body", "send a JSON object with Content-Type: application/json");
        }
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException e)
        {
            throw new RequestValidationException("body", $"not valid JSON: {e.Message}");
        }
        return body as JsonObject ?? throw new RequestValidationException("body", "must be a JSON object");
    }

    /// <summary>After tokenizing: tokens per request, [MASK]s per input and candidates (masks × top_k) per request within
    /// <paramref name="limits"/>; <paramref name="maskCount"/> counts an input's [MASK]s (0 for models without).</summary>
    public static void CheckEncoded(IReadOnlyList<int> lengths, Func<int, int> maskCount, int topK, bool single, InferenceOptions limits)
    {
        var errors = new Dictionary<string, string[]>();
        long tokens = lengths.Sum(l => (long)l);
        if (tokens > limits.MaxTokensPerRequest)
            errors["inputs"] = [$"{tokens} tokens, more than the {limits.MaxTokensPerRequest} a request may send (Inference:MaxTokensPerRequest)"];
        long masks = 0;
        for (int i = 0; i < lengths.Count; i++)
        {
            var count = maskCount(i);
            masks += count;
            if (count > limits.MaxMasksPerInput)
                errors[single ? "inputs" : $"inputs[{i}]"] = [$"{count} [MASK] tokens, more than the {limits.MaxMasksPerInput} an input may hold (Inference:MaxMasksPerInput)"];
        }
        if (masks * topK > limits.MaxMaskCandidatesPerRequest)
            errors["top_k"] = [$"{masks} [MASK]s × top_k {topK} = {masks * topK} candidates, more than the {limits.MaxMaskCandidatesPerRequest} a request may ask for (Inference:MaxMaskCandidatesPerRequest)"];
        ThrowIfAny(errors);
    }

    public static (PredictInput[] Inputs, PredictOptions Options) ParsePredict(JsonObject body, InferenceOptions limits)
    {
        var errors = new Dictionary<string, string[]>();
        RejectUnknown(body, PredictFields, errors);
        var inputs = ParseInputs(body, limits, errors);
        var options = new PredictOptions(
            TopK: Number<int>(body, "top_k", errors, min: 1, max: limits.MaxTopK),
            MaxNewTokens: Number<int>(body, "max_new_tokens", errors, min: 1, max: limits.MaxNewTokens) ?? PredictOptions.Default.MaxNewTokens,
            DoSample: Bool(body, "do_sample", errors),
            Temperature: Number<double>(body, "temperature", errors, min: 1e-6, max: 100),
            TopP: Number<double>(body, "top_p", errors, min: 1e-6, max: 1),
            Seed: Number<long>(body, "seed", errors, min: 0, max: long.MaxValue));
        ThrowIfAny(errors);
        return (inputs!, options);
    }

    public static (PredictInput[] Inputs, int? MaxLength, TruncationStrategy Strategy, bool AddSpecialTokens) ParseTokenize(
        JsonObject body, InferenceOptions limits)
    {
        var errors = new Dictionary<string, string[]>();
        RejectUnknown(body, TokenizeFields, errors);
        var inputs = ParseInputs(body, limits, errors);
        var maxLength = Number<int>(body, "max_length", errors, min: 1, max: 1_000_000);
        TruncationStrategy? strategy = null;
        switch (body["truncation"])
        {
            case null:
            case JsonValue v when v.GetValueKind() == JsonValueKind.False:
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.True:
                strategy = TruncationStrategy.LongestFirst;
                break;
            case JsonValue v when v.TryGetValue<string>(out var name) && Strategies.TryGetValue(name, out var named):
                strategy = named;
                break;
            default:
                errors["truncation"] = ["true, false, or one of longest_first, only_first, only_second"];
                break;
        }
        if (strategy is not null && maxLength is null && !errors.ContainsKey("max_length"))
        {
            errors["max_length"] = ["required when truncation is on"];
        }
        if (strategy is null && maxLength is not null && !errors.ContainsKey("truncation"))
        {
            errors["truncation"] = ["set truncation to true to truncate to max_length"];
        }
        var addSpecialTokens = Bool(body, "add_special_tokens", errors) ?? true;
        ThrowIfAny(errors);
        return (inputs!, strategy is null ? null : maxLength, strategy ?? TruncationStrategy.LongestFirst, addSpecialTokens);
    }

    static readonly Dictionary<string, TruncationStrategy> Strategies = new()
    {
        ["longest_first"] = TruncationStrategy.LongestFirst,
        ["only_first"] = TruncationStrategy.OnlyFirst,
        ["only_second"] = TruncationStrategy.OnlySecond,
    };

    /// <summary><c>inputs</c>: a string, a <c>{text, text_pair}</c> object, or a non-empty list of either.</summary>
    static PredictInput[]? ParseInputs(JsonObject body, InferenceOptions limits, Dictionary<string, string[]> errors)
    {
        const string expected = "a string, an object {text, text_pair}, or a list of them";
        switch (body["inputs"])
        {
            case null:
                errors["inputs"] = [body.ContainsKey("inputs") ? $"must be {expected}, not null" : $"required: {expected}"];
                return null;
            case JsonArray { Count: 0 }:
                errors["inputs"] = ["must not be empty"];
                return null;
            case JsonArray list when list.Count > limits.MaxInputsPerRequest:
                errors["inputs"] = [$"at most {limits.MaxInputsPerRequest} inputs per request, got {list.Count}"];
                return null;
            case JsonArray list:
                var inputs = list.Select((item, i) => ParseInput(item, $"inputs[{i}]", errors)).ToArray();
                return inputs.Any(i => i is null) ? null : Sized(inputs.OfType<PredictInput>().ToArray());
            case var single:
                return ParseInput(single, "inputs", errors) is { } one ? Sized([one]) : null;
        }

        // Characters are counted before anything is tokenized: a 20 MB string never reaches the tokenizer.
        PredictInput[]? Sized(PredictInput[] inputs)
        {
            long characters = inputs.Sum(i => (long)i.Text.Length + (i.TextPair?.Length ?? 0));
            if (characters <= limits.MaxCharactersPerRequest) return inputs;
            errors["inputs"] = [$"{characters} characters, more than the {limits.MaxCharactersPerRequest} a request may send (Inference:MaxCharactersPerRequest)"];
            return null;
        }

        static PredictInput? ParseInput(JsonNode? node, string field, Dictionary<string, string[]> errors)
        {
            switch (node)
            {
                case JsonValue v when v.TryGetValue<string>(out var text):
                    return new PredictInput(text);
                case JsonObject o:
                    foreach (var (name, _) in o.Where(p => p.Key is not ("text" or "text_pair")))
                    {
                        errors[$"{field}.{name}"] = ["unknown field; use text and text_pair"];
                    }
                    if (o["text"] is not JsonValue t || !t.TryGetValue<string>(out var first))
                    {
                        errors[$"{field}.text"] = ["required: a string"];
                        return null;
                    }
                    string? pair = null;
                    if (o["text_pair"] is { } p && (p is not JsonValue pv || !pv.TryGetValue(out pair)))
                    {
                        errors[$"{field}.text_pair"] = ["must be a string or null"];
                        return null;
                    }
                    return new PredictInput(first, pair);
                default:
                    errors[field] = [$"must be {expected}"];
                    return null;
            }
        }
    }

    static void RejectUnknown(JsonObject body, string[] known, Dictionary<string, string[]> errors)
    {
        foreach (var (name, _) in body.Where(p => !known.Contains(p.Key)))
        {
            errors[name] = [$"unknown field; known fields are {string.Join(", ", known)}"];
        }
    }

    static T? Number<T>(JsonObject body, string field, Dictionary<string, string[]> errors, T min, T max)
        where T : struct, System.Numerics.INumber<T>
    {
        if (body[field] is null)
        {
            return null;
        }
        if (body[field] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<T>(out var value)
            && value >= min && value <= max)
        {
            return value;
        }
        var kind = typeof(T) == typeof(double) ? "a number" : "an integer";
        errors[field] = [$"must be {kind} from {min} to {max}"];
        return null;
    }

    static bool? Bool(JsonObject body, string field, Dictionary<string, string[]> errors)
    {
        switch (body[field])
        {
            case null:
                return null;
            case JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                return v.GetValue<bool>();
            default:
                errors[field] = ["must be true or false"];
                return null;
        }
    }

    static void ThrowIfAny(Dictionary<string, string[]> errors)
    {
        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }
    }
}
