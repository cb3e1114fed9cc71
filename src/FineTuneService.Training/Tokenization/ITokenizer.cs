namespace FineTuneService.Training.Tokenization;

/// <summary>A text tokenizer with Hugging Face semantics: ids, token type ids, tokens, offsets and word ids.</summary>
public interface ITokenizer
{
    /// <summary>Encodes one text or a pair. With <paramref name="maxLength"/> the result (special tokens included)
    /// is truncated to that many tokens by <paramref name="truncation"/>, as Hugging Face `tokenizers` does.</summary>
    Encoding Encode(string text, string? textPair = null, int? maxLength = null,
        TruncationStrategy truncation = TruncationStrategy.LongestFirst, bool addSpecialTokens = true);

    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true);

    int VocabSize { get; }

    int PadId { get; }

    /// <summary>The mask token a masked LM fills (<c>[MASK]</c>, <c>&lt;mask&gt;</c>); null when the tokenizer has none.</summary>
    int? MaskId { get; }

    /// <summary>The special tokens (never split, never masked, left out of decoded text), by id.</summary>
    IReadOnlyList<SpecialToken> Specials { get; }

    /// <summary>What Encode adds around a text or a pair when asked for special tokens.</summary>
    PostTemplate Template { get; }

    /// <summary>Writes the Hugging Face tokenizer files of this tokenizer into <paramref name="dir"/>.</summary>
    void Save(string dir);
}
