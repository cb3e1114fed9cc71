using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;

namespace FineTuneService.Training.Tokenization;

/// <summary>Names and JSON pieces of the Hugging Face tokenizer files.</summary>
static class HfFiles
{
    public const string TokenizerJson = "tokenizer.json";
    public const string TokenizerConfig = "tokenizer_config.json";
    public const string SpecialTokensMap = "special_tokens_map.json";
    public const string VocabTxt = "vocab.txt";
    public const string VocabJson = "vocab.json";
    public const string MergesTxt = "merges.txt";

    static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static JsonObject? ReadJsonObject(string path) =>
        File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))?.AsObject() : null;

    public static void WriteJson(string path, JsonNode node) => File.WriteAllText(path, node.ToJsonString(Indented) + "\n");

    /// <summary>tokenizer_config.json's model_max_length; transformers writes a huge number for "no limit".</summary>
    public static int? ModelMaxLength(JsonObject? config) =>
        config?["model_max_length"] is JsonValue value && value.TryGetValue(out double max) && max is > 0 and < int.MaxValue
            ? (int)max
            : null;

    /// <summary>A special token written as a string or as an AddedToken object with "content".</summary>
    public static string? TokenContent(JsonNode? node) => node switch
    {
        JsonValue value when value.TryGetValue(out string? s) => s,
        JsonObject obj => obj["content"]?.GetValue<string>(),
        _ => null,
    };

    /// <summary>A {token: id} object as a list by id; the ids must be 0..n-1.</summary>
    public static string[] VocabByIds(JsonObject vocab, string path)
    {
        var tokens = new string?[vocab.Count];
        foreach (var (token, idNode) in vocab)
        {
            int id = idNode?.GetValue<int>() ?? -1;
            if ((uint)id >= (uint)tokens.Length || tokens[id] is not null)
                throw new InvalidCheckpointException($"{path}: vocabulary ids must be 0..{tokens.Length - 1}, each once ('{token}' has {id}).");
            tokens[id] = token;
        }
        return tokens!;
    }

    public static JsonObject VocabObject(IReadOnlyList<string> idToToken)
    {
        var vocab = new JsonObject();
        for (int id = 0; id < idToToken.Count; id++)
            vocab[idToToken[id]] = id;
        return vocab;
    }

    /// <summary>tokenizer.json's added_tokens: special, matched on the raw text, no stripping.</summary>
    public static JsonArray AddedTokens(IEnumerable<SpecialToken> specials)
    {
        var array = new JsonArray();
        foreach (var token in specials)
        {
            array.Add(new JsonObject
            {
                ["id"] = token.Id,
                ["content"] = token.Content,
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = true,
            });
        }
        return array;
    }
}
