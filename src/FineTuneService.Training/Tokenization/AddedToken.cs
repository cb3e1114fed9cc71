using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;

namespace FineTuneService.Training.Tokenization;

/// <summary>A tokenizer.json added token: never split; <see cref="LStrip"/> / <see cref="RStrip"/> swallow the whitespace
/// beside it (RoBERTa's <c>&lt;mask&gt;</c>); a <see cref="Normalized"/> one is matched in the normalized text, the
/// others in the raw text before anything else runs.</summary>
public sealed record AddedToken(int Id, string Content, bool Special = true, bool LStrip = false, bool RStrip = false, bool Normalized = false)
{
    /// <summary>tokenizer.json's <c>added_tokens</c>; single_word tokens are refused.</summary>
    public static List<AddedToken> ListFromJson(JsonNode? addedTokens, string path)
    {
        var added = new List<AddedToken>();
        foreach (var node in addedTokens?.AsArray() ?? [])
        {
            if (node?["single_word"]?.GetValue<bool>() == true)
                throw new InvalidCheckpointException($"{path}: the single_word added token '{node["content"]}' is not supported.");
            added.Add(new AddedToken(node!["id"]!.GetValue<int>(), node["content"]!.GetValue<string>(),
                node["special"]?.GetValue<bool>() ?? false, node["lstrip"]?.GetValue<bool>() ?? false,
                node["rstrip"]?.GetValue<bool>() ?? false, node["normalized"]?.GetValue<bool>() ?? false));
        }
        return added;
    }
}
