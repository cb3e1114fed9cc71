using System.Text;
using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;

namespace FineTuneService.Training.Tokenization;

/// <summary>BERT's WordPiece tokenizer, identical to Hugging Face's BertTokenizerFast: BertNormalizer, BertPreTokenizer,
/// greedy longest-match WordPiece with the <c>##</c> continuation prefix, special tokens written in the text kept whole,
/// and the <c>[CLS] A [SEP] B [SEP]</c> template.</summary>
public sealed class WordPieceTokenizer : ITokenizer
{
    public const string ContinuingSubwordPrefix = "##";
    public const int MaxInputCharsPerWord = 100;

    readonly string[] idToToken;
    readonly Dictionary<string, int> tokenToId;
    readonly VocabTrie wordStarts;
    /// <summary>Continuation pieces keyed without their <c>##</c>, so a piece is matched straight from the word.</summary>
    readonly VocabTrie wordContinuations;
    readonly BertNormalizer normalizer;
    readonly SpecialTokenMatcher specialMatcher;
    readonly HashSet<int> specialIds;

    [ThreadStatic] static Scratch? scratch;

    public WordPieceTokenizer(IReadOnlyList<string> vocab, bool lowercase = true, bool? stripAccents = null,
        bool tokenizeChineseChars = true, bool cleanText = true, BertSpecialTokens? specialTokens = null, int? modelMaxLength = null)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        idToToken = vocab.ToArray();
        tokenToId = new Dictionary<string, int>(idToToken.Length);
        for (int id = 0; id < idToToken.Length; id++)
            tokenToId[idToToken[id]] = id;
        wordStarts = new VocabTrie(tokenToId.Select(e => (e.Key, e.Value)));
        wordContinuations = new VocabTrie(tokenToId
            .Where(e => e.Key.Length > ContinuingSubwordPrefix.Length && e.Key.StartsWith(ContinuingSubwordPrefix, StringComparison.Ordinal))
            .Select(e => (e.Key[ContinuingSubwordPrefix.Length..], e.Value)));
        normalizer = new BertNormalizer(cleanText, tokenizeChineseChars, stripAccents, lowercase);

        SpecialTokens = specialTokens ?? new BertSpecialTokens();
        int Require(string token) => tokenToId.TryGetValue(token, out int id)
            ? id
            : throw new InvalidCheckpointException($"The vocabulary has no special token '{token}'.");
        UnkId = Require(SpecialTokens.Unk);
        ClsId = Require(SpecialTokens.Cls);
        SepId = Require(SpecialTokens.Sep);
        PadId = Require(SpecialTokens.Pad);
        MaskId = Require(SpecialTokens.Mask);
        Template = PostTemplate.Bert(ClsId, SepId);
        Specials = SpecialTokens.All.Select(t => new SpecialToken(tokenToId[t], t)).OrderBy(t => t.Id).ToArray();
        specialMatcher = new SpecialTokenMatcher(Specials);
        specialIds = Specials.Select(t => t.Id).ToHashSet();
        ModelMaxLength = modelMaxLength;
    }

    public int VocabSize => idToToken.Length;
    public int PadId { get; }
    public int UnkId { get; }
    public int ClsId { get; }
    public int SepId { get; }
    public int MaskId { get; }
    int? ITokenizer.MaskId => MaskId;
    public PostTemplate Template { get; }
    public BertSpecialTokens SpecialTokens { get; }
    /// <summary>The special tokens as Hugging Face added tokens, by id.</summary>
    public IReadOnlyList<SpecialToken> Specials { get; }
    /// <summary><c>model_max_length</c> of tokenizer_config.json, when it had one.</summary>
    public int? ModelMaxLength { get; }
    /// <summary>The vocabulary, by id.</summary>
    public IReadOnlyList<string> Vocab => idToToken;

    public Encoding Encode(string text, string? textPair = null, int? maxLength = null,
        TruncationStrategy truncation = TruncationStrategy.LongestFirst, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = scratch ??= new Scratch();
        s.First.Clear();
        EncodeSequence(text, s.First, s);
        TokenSequence? second = null;
        if (textPair is not null)
        {
            second = s.Second;
            second.Clear();
            EncodeSequence(textPair, second, s);
        }
        return EncodingTemplate.Build(s.First, second, maxLength, truncation, addSpecialTokens, Template, idToToken);
    }

    void EncodeSequence(string text, TokenSequence output, Scratch s)
    {
        int wordId = 0;
        int at = 0;
        while (at < text.Length)
        {
            int special = specialMatcher.FindNext(text, at, out var token);
            int plainEnd = special < 0 ? text.Length : special;
            if (plainEnd > at)
            {
                var sink = new EncodeSink(this, output, wordId);
                normalizer.PreTokenize(text, at, plainEnd, s.Word, ref sink);
                wordId = sink.WordId;
            }
            if (special < 0)
                break;
            output.Add(token!.Id, special, special + token.Content.Length, wordId++);
            at = special + token.Content.Length;
        }
    }

    /// <summary>Receives the words of the BERT pre-tokenizer and appends their WordPiece tokens.</summary>
    struct EncodeSink(WordPieceTokenizer tokenizer, TokenSequence output, int wordId) : BertNormalizer.IWordSink
    {
        public int WordId = wordId;

        public void OnWord(WordBuffer word) =>
            tokenizer.TokenizeWord(word.Chars.AsSpan(0, word.Length), word.Starts, word.Ends, output, WordId++);
    }

    /// <summary>Greedy longest-match-first WordPiece; a word longer than 100 code points, or one that some part
    /// of cannot be matched, becomes one [UNK].</summary>
    void TokenizeWord(ReadOnlySpan<char> word, int[] starts, int[] ends, TokenSequence output, int wordId)
    {
        int n = word.Length;
        if (n > MaxInputCharsPerWord && CodePoints(word) > MaxInputCharsPerWord)
        {
            output.Add(UnkId, starts[0], ends[n - 1], wordId);
            return;
        }
        int mark = output.Count;
        int pieceStart = 0;
        while (pieceStart < n)
        {
            // The longest vocabulary entry here is what the longest-first search of Hugging Face finds.
            var rest = word[pieceStart..];
            int length = pieceStart == 0 ? wordStarts.LongestPrefix(rest, out int id) : wordContinuations.LongestPrefix(rest, out id);
            int pieceEnd = pieceStart + length;
            if (length == 0)
            {
                output.Truncate(mark);
                output.Add(UnkId, starts[0], ends[n - 1], wordId);
                return;
            }
            output.Add(id, starts[pieceStart], ends[pieceEnd - 1], wordId);
            pieceStart = pieceEnd;
        }
    }

    static int CodePoints(ReadOnlySpan<char> s)
    {
        int count = 0;
        foreach (char c in s)
        {
            if (!char.IsLowSurrogate(c))
                count++;
        }
        return count;
    }

    /// <summary>As transformers decodes: the WordPiece decoder (pieces joined by spaces, <c>##</c> pieces glued on),
    /// then clean_up_tokenization_spaces over the whole text.</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var text = new StringBuilder();
        bool first = true;
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)idToToken.Length || (skipSpecialTokens && specialIds.Contains(id)))
                continue;
            string token = idToToken[id];
            string piece = first ? token
                : token.StartsWith(ContinuingSubwordPrefix, StringComparison.Ordinal) ? token[ContinuingSubwordPrefix.Length..]
                : " " + token;
            text.Append(piece);
            first = false;
        }
        return CleanUp(text.ToString());
    }

    static string CleanUp(string text) => text
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",")
        .Replace(" ' ", "'").Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" do not", " don't")
        .Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");

    /// <summary>Loads a Hugging Face BERT tokenizer folder: tokenizer.json when present (as AutoTokenizer does),
    /// otherwise vocab.txt with tokenizer_config.json's do_lower_case, strip_accents and tokenize_chinese_chars.</summary>
    public static WordPieceTokenizer FromFolder(string dir)
    {
        var config = HfFiles.ReadJsonObject(Path.Combine(dir, HfFiles.TokenizerConfig));
        var specials = BertSpecialTokens.FromConfig(config);
        int? modelMaxLength = HfFiles.ModelMaxLength(config);
        string tokenizerJson = Path.Combine(dir, HfFiles.TokenizerJson);
        if (File.Exists(tokenizerJson))
            return FromTokenizerJson(tokenizerJson, specials, modelMaxLength);
        string vocabTxt = Path.Combine(dir, HfFiles.VocabTxt);
        if (!File.Exists(vocabTxt))
            throw new InvalidCheckpointException($"A WordPiece tokenizer needs {HfFiles.TokenizerJson} or {HfFiles.VocabTxt} in {dir}.");
        return new WordPieceTokenizer(ReadVocabTxt(vocabTxt),
            lowercase: config?["do_lower_case"]?.GetValue<bool>() ?? true,
            stripAccents: config?["strip_accents"]?.GetValue<bool?>(),
            tokenizeChineseChars: config?["tokenize_chinese_chars"]?.GetValue<bool>() ?? true,
            specialTokens: specials, modelMaxLength: modelMaxLength);
    }

    /// <summary>vocab.txt: one token a line, id = line number (\n, \r\n or \r end a line, as Python reads it).</summary>
    static string[] ReadVocabTxt(string path) => File.ReadAllLines(path);

    static WordPieceTokenizer FromTokenizerJson(string path, BertSpecialTokens? specials, int? modelMaxLength)
    {
        var root = HfFiles.ReadJsonObject(path) ?? throw new InvalidCheckpointException($"{path} is empty.");
        var model = root["model"]?.AsObject() ?? throw new InvalidCheckpointException($"{path} has no model.");
        string type = model["type"]?.GetValue<string>() ?? "";
        if (type != "WordPiece")
            throw new InvalidCheckpointException($"{path} holds a '{type}' model, not WordPiece.");
        if ((model["continuing_subword_prefix"]?.GetValue<string>() ?? ContinuingSubwordPrefix) != ContinuingSubwordPrefix
            || (model["max_input_chars_per_word"]?.GetValue<int>() ?? MaxInputCharsPerWord) != MaxInputCharsPerWord)
        {
            throw new InvalidCheckpointException($"{path}: only continuing_subword_prefix '##' and max_input_chars_per_word 100 are supported.");
        }

        var vocab = HfFiles.VocabByIds(model["vocab"]?.AsObject() ?? throw new InvalidCheckpointException($"{path} has no vocab."), path);

        bool lowercase = false, clean = false, chinese = false;
        bool? strip = null;
        if (root["normalizer"] is JsonObject normalizerNode)
        {
            string normalizerType = normalizerNode["type"]?.GetValue<string>() ?? "";
            if (normalizerType != "BertNormalizer")
                throw new InvalidCheckpointException($"{path}: normalizer '{normalizerType}' is not supported (BertNormalizer is).");
            clean = normalizerNode["clean_text"]?.GetValue<bool>() ?? true;
            chinese = normalizerNode["handle_chinese_chars"]?.GetValue<bool>() ?? true;
            strip = normalizerNode["strip_accents"]?.GetValue<bool?>();
            lowercase = normalizerNode["lowercase"]?.GetValue<bool>() ?? true;
        }
        string preTokenizer = root["pre_tokenizer"]?["type"]?.GetValue<string>() ?? "";
        if (preTokenizer != "BertPreTokenizer")
            throw new InvalidCheckpointException($"{path}: pre_tokenizer '{preTokenizer}' is not supported (BertPreTokenizer is).");
        specials ??= new BertSpecialTokens(Unk: model["unk_token"]?.GetValue<string>() ?? "[UNK]");
        return new WordPieceTokenizer(vocab, lowercase, strip, chinese, clean, specials, modelMaxLength);
    }

    /// <summary>Writes vocab.txt, tokenizer.json (Hugging Face `tokenizers` format), tokenizer_config.json and special_tokens_map.json.</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, HfFiles.VocabTxt), string.Concat(idToToken.Select(t => t + "\n")));
        HfFiles.WriteJson(Path.Combine(dir, HfFiles.TokenizerJson), ToTokenizerJson());
        var config = new JsonObject
        {
            ["do_lower_case"] = normalizer.Lowercase,
            ["strip_accents"] = normalizer.StripAccentsSetting,
            ["tokenize_chinese_chars"] = normalizer.HandleChineseChars,
            ["tokenizer_class"] = "BertTokenizer",
        };
        if (ModelMaxLength is int max)
            config["model_max_length"] = max;
        foreach (var (key, value) in SpecialTokens.Map())
            config[key] = value;
        HfFiles.WriteJson(Path.Combine(dir, HfFiles.TokenizerConfig), config);
        var map = new JsonObject();
        foreach (var (key, value) in SpecialTokens.Map())
            map[key] = value;
        HfFiles.WriteJson(Path.Combine(dir, HfFiles.SpecialTokensMap), map);
    }

    /// <summary>The tokenizer.json document, field for field as Hugging Face `tokenizers` writes a BERT tokenizer.</summary>
    JsonObject ToTokenizerJson()
    {
        var template = new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = new JsonArray(TemplateSpecial(SpecialTokens.Cls, 0), TemplateSequence("A", 0), TemplateSpecial(SpecialTokens.Sep, 0)),
            ["pair"] = new JsonArray(TemplateSpecial(SpecialTokens.Cls, 0), TemplateSequence("A", 0), TemplateSpecial(SpecialTokens.Sep, 0),
                TemplateSequence("B", 1), TemplateSpecial(SpecialTokens.Sep, 1)),
            ["special_tokens"] = new JsonObject
            {
                [SpecialTokens.Cls] = TemplateToken(SpecialTokens.Cls, ClsId),
                [SpecialTokens.Sep] = TemplateToken(SpecialTokens.Sep, SepId),
            },
        };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = HfFiles.AddedTokens(Specials),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "BertNormalizer",
                ["clean_text"] = normalizer.CleanText,
                ["handle_chinese_chars"] = normalizer.HandleChineseChars,
                ["strip_accents"] = normalizer.StripAccentsSetting,
                ["lowercase"] = normalizer.Lowercase,
            },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "BertPreTokenizer" },
            ["post_processor"] = template,
            ["decoder"] = new JsonObject { ["type"] = "WordPiece", ["prefix"] = ContinuingSubwordPrefix, ["cleanup"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "WordPiece",
                ["unk_token"] = SpecialTokens.Unk,
                ["continuing_subword_prefix"] = ContinuingSubwordPrefix,
                ["max_input_chars_per_word"] = MaxInputCharsPerWord,
                ["vocab"] = HfFiles.VocabObject(idToToken),
            },
        };
    }

    static JsonObject TemplateSpecial(string token, int typeId) =>
        new() { ["SpecialToken"] = new JsonObject { ["id"] = token, ["type_id"] = typeId } };

    static JsonObject TemplateSequence(string id, int typeId) =>
        new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = typeId } };

    static JsonObject TemplateToken(string token, int id) =>
        new() { ["id"] = token, ["ids"] = new JsonArray(id), ["tokens"] = new JsonArray(token) };

    /// <summary>Per-thread buffers for one encode call.</summary>
    sealed class Scratch
    {
        public readonly TokenSequence First = new(), Second = new();
        public readonly WordBuffer Word = new();
    }
}
