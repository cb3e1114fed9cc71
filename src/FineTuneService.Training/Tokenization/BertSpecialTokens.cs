using System.Text.Json.Nodes;

namespace FineTuneService.Training.Tokenization;

/// <summary>BERT's special tokens by role; tokenizer_config.json may rename them.</summary>
public sealed record BertSpecialTokens(string Unk = "[UNK]", string Cls = "[CLS]", string Sep = "[SEP]", string Pad = "[PAD]", string Mask = "[MASK]")
{
    public IEnumerable<string> All => [Pad, Unk, Cls, Sep, Mask];

    /// <summary>special_tokens_map.json entries.</summary>
    public IEnumerable<(string Key, string Value)> Map() =>
        [("unk_token", Unk), ("sep_token", Sep), ("pad_token", Pad), ("cls_token", Cls), ("mask_token", Mask)];

    public static BertSpecialTokens? FromConfig(JsonObject? config)
    {
        if (config is null)
            return null;
        var defaults = new BertSpecialTokens();
        string Read(string key, string fallback) => HfFiles.TokenContent(config[key]) ?? fallback;
        return new BertSpecialTokens(Read("unk_token", defaults.Unk), Read("cls_token", defaults.Cls), Read("sep_token", defaults.Sep),
            Read("pad_token", defaults.Pad), Read("mask_token", defaults.Mask));
    }
}
