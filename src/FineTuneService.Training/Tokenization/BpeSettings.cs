using System.Text.Json.Nodes;

namespace FineTuneService.Training.Tokenization;

/// <summary>How a byte-level BPE tokenizer runs, from tokenizer.json and tokenizer_config.json.</summary>
public sealed record BpeSettings
{
    /// <summary>A Lowercase normalizer runs before pre-tokenization.</summary>
    public bool Lowercase { get; init; }
    /// <summary>The ByteLevel pre-tokenizer puts a space before every piece of text that has none (RoBERTa with add_prefix_space).</summary>
    public bool AddPrefixSpace { get; init; }
    /// <summary>The post-processor's trim_offsets: offsets leave out the spaces a token carries.</summary>
    public bool TrimOffsets { get; init; }
    /// <summary>The model's ignore_merges: a word that is itself in the vocabulary is one token (Llama 3).</summary>
    public bool IgnoreMerges { get; init; }
    /// <summary>tokenizer.json's added_tokens; null means the end-of-text token alone, special.</summary>
    public IReadOnlyList<AddedToken>? AddedTokens { get; init; }
    public PostTemplate Template { get; init; } = PostTemplate.None;
    public string EosToken { get; init; } = ByteLevelBpeTokenizer.EndOfText;
    public string? PadToken { get; init; }
    public string? MaskToken { get; init; }
    public int? ModelMaxLength { get; init; }
    /// <summary>The files it was read from, written back unchanged by Save (null for a tokenizer trained here).</summary>
    public JsonObject? TokenizerJson { get; init; }
    public JsonObject? TokenizerConfig { get; init; }
    /// <summary>tokenizer.json's normalizer; null means <see cref="Lowercase"/> decides.</summary>
    internal TextNormalizer? Normalizer { get; init; }
    /// <summary>The pre-tokenizer's steps before the byte mapping; null means the GPT-2 regex.</summary>
    internal IReadOnlyList<PreTokenizerStep>? PreTokenizer { get; init; }
}
