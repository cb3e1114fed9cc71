using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;

namespace FineTuneService.Training.Tokenization;

/// <summary>Byte-level BPE (GPT-2, RoBERTa, ModernBERT, Llama 3, Qwen2) as Hugging Face `tokenizers` runs it: added
/// tokens in the text kept whole, the normalizer (Lowercase, NFC, …), the GPT-2 pre-tokenizer regex (with add_prefix_space
/// when asked) or Split regexes, UTF-8 bytes as chars, merges applied by rank, then the post-processor's template
/// (RobertaProcessing, BertProcessing, TemplateProcessing).</summary>
public sealed class ByteLevelBpeTokenizer : ITokenizer
{
    public const string EndOfText = "<|endoftext|>";
    const int WordCacheCapacity = 100_000;

    readonly string[] idToToken;
    readonly Dictionary<string, int> tokenToId;
    /// <summary>(left id &lt;&lt; 32 | right id) → the merge's rank and the id of the merged token.</summary>
    readonly Dictionary<long, (int Rank, int Merged)> merges;
    /// <summary>The id of each byte's char.</summary>
    readonly int[] byteIds = new int[256];
    readonly AddedVocabulary added;
    readonly TextNormalizer? normalizer;
    readonly IReadOnlyList<PreTokenizerStep> preTokenizer;
    readonly HashSet<int> specialIds;
    readonly BpeSettings settings;
    /// <summary>Pre-token text → ids; the greedy merge loop runs once per distinct word.</summary>
    readonly ConcurrentDictionary<string, int[]> wordCache = new();
    readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> wordCacheLookup;
    int cachedWords;

    [ThreadStatic] static TokenSequence? firstScratch, secondScratch;

    public ByteLevelBpeTokenizer(IReadOnlyList<string> vocab, IReadOnlyList<(string Left, string Right)> mergeList,
        bool lowercase = false, string endOfText = EndOfText, int? modelMaxLength = null)
        : this(vocab, mergeList, new BpeSettings { Lowercase = lowercase, EosToken = endOfText, ModelMaxLength = modelMaxLength })
    {
    }

    public ByteLevelBpeTokenizer(IReadOnlyList<string> vocab, IReadOnlyList<(string Left, string Right)> mergeList, BpeSettings settings)
    {
        this.settings = settings;
        idToToken = vocab.ToArray();
        tokenToId = new Dictionary<string, int>(idToToken.Length);
        for (int id = 0; id < idToToken.Length; id++)
            tokenToId[idToToken[id]] = id;
        Merges = mergeList.ToArray();
        merges = new Dictionary<long, (int, int)>(Merges.Count);
        for (int rank = 0; rank < Merges.Count; rank++)
        {
            var (left, right) = Merges[rank];
            int Id(string token) => tokenToId.TryGetValue(token, out int id)
                ? id
                : throw new InvalidCheckpointException($"Merge {rank} ('{left} {right}') uses '{token}', which is not in the vocabulary.");
            merges.TryAdd(Pair(Id(left), Id(right)), (rank, Id(left + right)));
        }
        for (int b = 0; b < 256; b++)
        {
            string c = ByteLevel.ByteToChar[b].ToString();
            byteIds[b] = tokenToId.TryGetValue(c, out int id)
                ? id
                : throw new InvalidCheckpointException($"The vocabulary lacks the byte char '{c}' (byte {b}).");
        }
        var addedTokens = settings.AddedTokens ?? (tokenToId.TryGetValue(settings.EosToken, out int eot) ? [new AddedToken(eot, settings.EosToken)] : []);
        // Added tokens may extend the model's vocabulary (Llama 3's specials follow its 128,000 BPE tokens).
        int size = Math.Max(idToToken.Length, addedTokens.Count == 0 ? 0 : addedTokens.Max(t => t.Id) + 1);
        if (size > idToToken.Length)
            Array.Resize(ref idToToken, size);
        foreach (var token in addedTokens)
        {
            if (token.Id < 0)
                throw new InvalidCheckpointException($"The added token '{token.Content}' has id {token.Id}.");
            idToToken[token.Id] = token.Content;
            tokenToId[token.Content] = token.Id;
        }
        if (Array.IndexOf(idToToken, null) is int hole and >= 0)
            throw new InvalidCheckpointException($"No token has id {hole}: the vocabulary and the added tokens must number 0..{size - 1}.");
        normalizer = settings.Normalizer ?? (settings.Lowercase ? new LowercaseNormalizer() : null);
        preTokenizer = settings.PreTokenizer ?? [new ByteLevelRegexStep()];
        added = new AddedVocabulary(addedTokens, normalizer);
        Specials = addedTokens.Where(t => t.Special).Select(t => new SpecialToken(t.Id, t.Content)).OrderBy(t => t.Id).ToArray();
        specialIds = Specials.Select(t => t.Id).ToHashSet();
        int? Find(string? token) => token is not null && tokenToId.TryGetValue(token, out int id) ? id : null;
        // A tokenizer.json without tokenizer_config.json still ends its texts with the template's closing token.
        EosId = Find(settings.EosToken) ?? Template.Frame().After
            ?? throw new InvalidCheckpointException($"The vocabulary has no '{settings.EosToken}' (the end-of-text token).");
        EndOfTextToken = idToToken[EosId];
        PadId = Find(settings.PadToken) ?? EosId;
        MaskId = Find(settings.MaskToken) ?? (addedTokens.FirstOrDefault(t => t.Content == "<mask>")?.Id);
        wordCacheLookup = wordCache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int VocabSize => idToToken.Length;
    /// <summary>tokenizer_config.json's pad_token; GPT-2 has none, and padding uses end-of-text, as is usual with Hugging Face.</summary>
    public int PadId { get; }
    public int EosId { get; }
    public int? MaskId { get; }
    public IReadOnlyList<SpecialToken> Specials { get; }
    public PostTemplate Template => settings.Template;
    public bool Lowercase => settings.Lowercase;
    string EndOfTextToken { get; }
    public int? ModelMaxLength => settings.ModelMaxLength;
    public IReadOnlyList<string> Vocab => idToToken;
    public IReadOnlyList<(string Left, string Right)> Merges { get; }

    public Encoding Encode(string text, string? textPair = null, int? maxLength = null,
        TruncationStrategy truncation = TruncationStrategy.LongestFirst, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var first = firstScratch ??= new TokenSequence();
        EncodeSequence(text, first);
        TokenSequence? second = null;
        if (textPair is not null)
        {
            second = secondScratch ??= new TokenSequence();
            EncodeSequence(textPair, second);
        }
        return EncodingTemplate.Build(first, second, maxLength, truncation, addSpecialTokens, Template, idToToken);
    }

    /// <summary>Added tokens first (Hugging Face's added-vocabulary split), then each piece of text between them.</summary>
    void EncodeSequence(string text, TokenSequence output) => added.Encode(text, normalizer, output, EncodePiece);

    /// <summary>One normalized piece of text between added tokens: given its prefix space, pre-tokenized and merged, with
    /// offsets mapped back to the original text (and trimmed of spaces when the post-processor says so).</summary>
    void EncodePiece(NormalizedText piece, bool first, TokenSequence output, ref int wordId)
    {
        int mark = output.Count;
        if (settings.AddPrefixSpace && !piece.Text.StartsWith(' '))
        {
            var origin = new (int, int)[piece.Length + 1];
            origin[0] = piece.OriginalRange(0, 0);
            piece.Origin.CopyTo(origin, 1);
            piece = new NormalizedText(" " + piece.Text, origin);
        }
        string text = piece.Text;
        foreach (var (start, end) in PreTokenizerStep.Run(preTokenizer, text, 0, text.Length))
            AddWord(text, start, end, output, wordId++);
        for (int t = mark; t < output.Count; t++)
        {
            var (s, e) = output.Offsets[t];
            while (settings.TrimOffsets && s < e && char.IsWhiteSpace(text[s])) s++;
            while (settings.TrimOffsets && e > s && char.IsWhiteSpace(text[e - 1])) e--;
            output.Offsets[t] = piece.OriginalRange(s, e);
        }
    }

    /// <summary>Appends the BPE tokens of text[start..end), with offsets of the chars whose bytes each token covers.</summary>
    void AddWord(string text, int start, int end, TokenSequence output, int wordId)
    {
        var word = text.AsSpan(start, end - start);
        if (!wordCacheLookup.TryGetValue(word, out var ids))
        {
            ids = Merge(word);
            // ConcurrentDictionary.Count takes every lock: count the entries here instead.
            if (cachedWords < WordCacheCapacity && wordCacheLookup.TryAdd(word, ids))
                Interlocked.Increment(ref cachedWords);
        }
        int charAt = start;
        int byteInChar = 0;
        foreach (int id in ids)
        {
            int tokenStart = charAt;
            for (int bytes = idToToken[id].Length; bytes > 0; bytes--)
            {
                int charBytes = Utf8Length(text, charAt, end, out int charWidth);
                if (++byteInChar == charBytes)
                {
                    charAt += charWidth;
                    byteInChar = 0;
                }
            }
            int tokenEnd = byteInChar > 0 ? charAt + CharWidth(text, charAt, end) : charAt;
            output.Add(id, tokenStart, tokenEnd, wordId);
        }
    }

    static int CharWidth(string text, int at, int end) =>
        char.IsHighSurrogate(text[at]) && at + 1 < end && char.IsLowSurrogate(text[at + 1]) ? 2 : 1;

    static int Utf8Length(string text, int at, int end, out int width)
    {
        width = CharWidth(text, at, end);
        char c = text[at];
        return width == 2 ? 4 : c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    }

    static long Pair(int left, int right) => (long)left << 32 | (uint)right;

    /// <summary>BPE on the UTF-8 bytes of one word: again and again the adjacent pair of lowest rank is merged,
    /// all its occurrences left to right.</summary>
    int[] Merge(ReadOnlySpan<char> word)
    {
        // Lone surrogates become U+FFFD, as in a Rust string.
        var bytes = System.Text.Encoding.UTF8.GetBytes(word.ToArray());
        if (settings.IgnoreMerges && tokenToId.TryGetValue(ByteLevel.ToByteChars(word), out int whole) && !added.Contains(whole))
            return [whole];
        var symbols = new List<int>(bytes.Length);
        foreach (byte b in bytes)
            symbols.Add(byteIds[b]);
        while (symbols.Count > 1)
        {
            int bestRank = int.MaxValue, bestMerged = -1, bestLeft = -1, bestRight = -1;
            for (int i = 0; i + 1 < symbols.Count; i++)
            {
                if (merges.TryGetValue(Pair(symbols[i], symbols[i + 1]), out var m) && m.Rank < bestRank)
                    (bestRank, bestMerged, bestLeft, bestRight) = (m.Rank, m.Merged, symbols[i], symbols[i + 1]);
            }
            if (bestMerged < 0)
                break;
            for (int i = 0; i + 1 < symbols.Count; i++)
            {
                if (symbols[i] == bestLeft && symbols[i + 1] == bestRight)
                {
                    symbols[i] = bestMerged;
                    symbols.RemoveAt(i + 1);
                }
            }
        }
        return symbols.ToArray();
    }

    /// <summary>The ByteLevel decoder: token chars back to bytes, bytes to UTF-8 text; added tokens as they are written.</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var text = new StringBuilder();
        var chars = new StringBuilder();
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)idToToken.Length || (skipSpecialTokens && specialIds.Contains(id)))
                continue;
            if (added.Contains(id))
            {
                text.Append(ByteLevel.FromByteChars(chars.ToString())).Append(idToToken[id]);
                chars.Clear();
            }
            else
            {
                chars.Append(idToToken[id]);
            }
        }
        return text.Append(ByteLevel.FromByteChars(chars.ToString())).ToString();
    }

    /// <summary>A byte-level BPE from tiktoken-style ranks (OpenAI's encodings: each token's bytes, by rank = id), with
    /// <paramref name="endOfText"/> after them: a token of rank r is the merge of the two parts that BPE with the ranks
    /// below r leaves of its bytes, which is how GPT-2's merges.txt relates to its ranks.</summary>
    public static ByteLevelBpeTokenizer FromRanks(IReadOnlyList<byte[]> tokens, string endOfText = EndOfText)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var vocab = tokens.Select(t => new string(t.Select(b => ByteLevel.ByteToChar[b]).ToArray())).ToList();
        var rank = new Dictionary<string, int>(vocab.Count);
        for (int r = 0; r < vocab.Count; r++)
            rank[vocab[r]] = r;
        var merges = new List<(string, string)>(vocab.Count);
        for (int r = 0; r < vocab.Count; r++)
        {
            if (vocab[r].Length < 2)
                continue;
            var parts = vocab[r].Select(c => c.ToString()).ToList();
            while (parts.Count > 2)
            {
                int best = -1, bestRank = r;
                for (int i = 0; i + 1 < parts.Count; i++)
                {
                    if (rank.TryGetValue(parts[i] + parts[i + 1], out int pairRank) && pairRank < bestRank)
                        (best, bestRank) = (i, pairRank);
                }
                if (best < 0)
                    break;
                parts[best] += parts[best + 1];
                parts.RemoveAt(best + 1);
            }
            if (parts.Count != 2)
                throw new InvalidCheckpointException($"Rank {r} ('{vocab[r]}') is not the merge of two lower-ranked tokens.");
            merges.Add((parts[0], parts[1]));
        }
        return new ByteLevelBpeTokenizer([.. vocab, endOfText], merges, endOfText: endOfText);
    }

    /// <summary>Loads tokenizer.json when present, otherwise vocab.json + merges.txt; tokenizer_config.json's eos, pad
    /// and mask tokens and model_max_length are honoured.</summary>
    public static ByteLevelBpeTokenizer FromFolder(string dir)
    {
        var config = HfFiles.ReadJsonObject(Path.Combine(dir, HfFiles.TokenizerConfig));
        var fromConfig = new BpeSettings
        {
            ModelMaxLength = HfFiles.ModelMaxLength(config),
            EosToken = HfFiles.TokenContent(config?["eos_token"]) ?? EndOfText,
            PadToken = HfFiles.TokenContent(config?["pad_token"]),
            MaskToken = HfFiles.TokenContent(config?["mask_token"]),
            TokenizerConfig = config,
        };
        string tokenizerJson = Path.Combine(dir, HfFiles.TokenizerJson);
        if (File.Exists(tokenizerJson))
            return FromTokenizerJson(HfFiles.ReadJsonObject(tokenizerJson) ?? throw new InvalidCheckpointException($"{tokenizerJson} is empty."), tokenizerJson, fromConfig);
        string vocabJson = Path.Combine(dir, HfFiles.VocabJson), mergesTxt = Path.Combine(dir, HfFiles.MergesTxt);
        if (!File.Exists(vocabJson) || !File.Exists(mergesTxt))
            throw new InvalidCheckpointException($"A byte-level BPE tokenizer needs {HfFiles.TokenizerJson} or {HfFiles.VocabJson} + {HfFiles.MergesTxt} in {dir}.");
        var vocabFromJson = HfFiles.VocabByIds(HfFiles.ReadJsonObject(vocabJson)!, vocabJson);
        var merges = File.ReadAllLines(mergesTxt).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).Select(ParseMerge).ToList();
        return new ByteLevelBpeTokenizer(vocabFromJson, merges, fromConfig with { TokenizerConfig = null });
    }

    static ByteLevelBpeTokenizer FromTokenizerJson(JsonObject root, string path, BpeSettings fromConfig)
    {
        InvalidCheckpointException Unsupported(string what) => new($"{path}: {what} is not supported.");
        var model = root["model"]?.AsObject() ?? throw new InvalidCheckpointException($"{path} has no model.");
        string type = model["type"]?.GetValue<string>() ?? "";
        var (preTokenizer, addPrefixSpace) = PreTokenizer(root["pre_tokenizer"] as JsonObject, path, type);
        if (model["byte_fallback"]?.GetValue<bool>() == true || model["dropout"] is JsonValue
            || (model["continuing_subword_prefix"]?.GetValue<string>() ?? "") != "" || (model["end_of_word_suffix"]?.GetValue<string>() ?? "") != "")
        {
            throw Unsupported("a BPE model with byte_fallback, dropout, continuing_subword_prefix or end_of_word_suffix");
        }

        var normalizer = TextNormalizer.FromJson(root["normalizer"], path);
        var added = AddedToken.ListFromJson(root["added_tokens"], path);
        var vocab = HfFiles.VocabByIds(model["vocab"]?.AsObject() ?? throw new InvalidCheckpointException($"{path} has no vocab."), path);
        int TokenId(string token) => added.FirstOrDefault(t => t.Content == token)?.Id
            ?? (Array.IndexOf(vocab, token) is int id and >= 0 ? id : throw new InvalidCheckpointException($"{path}: the post-processor names '{token}', which is no token."));
        var (template, trimOffsets) = PostTemplate.FromJson(root["post_processor"] as JsonObject, path, TokenId);
        var mergeList = (model["merges"]?.AsArray() ?? []).Select(m => m is JsonArray pair
            ? (pair[0]!.GetValue<string>(), pair[1]!.GetValue<string>())
            : ParseMerge(m!.GetValue<string>())).ToList();
        return new ByteLevelBpeTokenizer(vocab, mergeList, fromConfig with
        {
            Lowercase = normalizer is LowercaseNormalizer,
            Normalizer = normalizer,
            PreTokenizer = preTokenizer,
            AddPrefixSpace = addPrefixSpace,
            TrimOffsets = trimOffsets,
            IgnoreMerges = model["ignore_merges"]?.GetValue<bool>() ?? false,
            AddedTokens = added,
            Template = template,
            TokenizerJson = root,
        });
    }

    /// <summary>tokenizer.json's pre_tokenizer: ByteLevel (the GPT-2 regex, or none with use_regex false), or a Sequence of
    /// Split steps and a ByteLevel; and whether a space goes before each piece (ByteLevel's add_prefix_space, alone only).</summary>
    static (IReadOnlyList<PreTokenizerStep> Steps, bool AddPrefixSpace) PreTokenizer(JsonObject? pre, string path, string modelType)
    {
        string type = pre?["type"]?.GetValue<string>() ?? "";
        if (modelType != "BPE" || type is not ("ByteLevel" or "Sequence"))
            throw new InvalidCheckpointException($"{path} holds a '{modelType}' model with pre_tokenizer '{type}', not a byte-level BPE (ByteLevel pre-tokenizer).");
        static PreTokenizerStep[] ByteLevelSteps(JsonObject byteLevel) =>
            byteLevel["use_regex"]?.GetValue<bool>() == false ? [] : [new ByteLevelRegexStep()];
        if (type == "ByteLevel")
            return (ByteLevelSteps(pre!), pre!["add_prefix_space"]?.GetValue<bool>() ?? false);
        var steps = new List<PreTokenizerStep>();
        bool byteLevel = false;
        foreach (var node in pre!["pretokenizers"]?.AsArray() ?? [])
        {
            var step = node as JsonObject;
            switch (step?["type"]?.GetValue<string>())
            {
                case "Split":
                    steps.Add(SplitStep.FromJson(step, path));
                    break;
                case "ByteLevel" when step["add_prefix_space"]?.GetValue<bool>() != true:
                    steps.AddRange(ByteLevelSteps(step));
                    byteLevel = true;
                    break;
                case var other:
                    throw new InvalidCheckpointException($"{path}: pre-tokenizer '{other}' in a Sequence is not supported (Split, and ByteLevel without add_prefix_space, are).");
            }
        }
        if (!byteLevel)
            throw new InvalidCheckpointException($"{path}: the pre-tokenizer Sequence has no ByteLevel step, so this is not a byte-level BPE.");
        return (steps, false);
    }

    static (string, string) ParseMerge(string line)
    {
        int space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0)
            throw new InvalidCheckpointException($"A merge must be two tokens separated by a space: '{line}'.");
        return (line[..space], line[(space + 1)..]);
    }

    /// <summary>Writes the tokenizer.json and tokenizer_config.json it was read from, unchanged; a tokenizer trained here
    /// writes vocab.json, merges.txt, tokenizer.json, tokenizer_config.json and special_tokens_map.json.</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        if (settings.TokenizerJson is { } source)
        {
            HfFiles.WriteJson(Path.Combine(dir, HfFiles.TokenizerJson), source);
            if (settings.TokenizerConfig is { } sourceConfig)
                HfFiles.WriteJson(Path.Combine(dir, HfFiles.TokenizerConfig), sourceConfig);
            return;
        }
        HfFiles.WriteJson(Path.Combine(dir, HfFiles.VocabJson), HfFiles.VocabObject(idToToken));
        File.WriteAllText(Path.Combine(dir, HfFiles.MergesTxt), "#version: 0.2\n" + string.Concat(Merges.Select(m => $"{m.Left} {m.Right}\n")));
        HfFiles.WriteJson(Path.Combine(dir, HfFiles.TokenizerJson), ToTokenizerJson());
        var config = new JsonObject
        {
            ["tokenizer_class"] = "GPT2Tokenizer",
            ["add_prefix_space"] = false,
            ["clean_up_tokenization_spaces"] = false,
        };
        if (ModelMaxLength is int max)
            config["model_max_length"] = max;
        var map = new JsonObject();
        foreach (var key in new[] { "bos_token", "eos_token", "unk_token" })
        {
            config[key] = EndOfTextToken;
            map[key] = EndOfTextToken;
        }
        HfFiles.WriteJson(Path.Combine(dir, HfFiles.TokenizerConfig), config);
        HfFiles.WriteJson(Path.Combine(dir, HfFiles.SpecialTokensMap), map);
    }

    /// <summary>The tokenizer.json document as Hugging Face `tokenizers` writes GPT-2's.</summary>
    JsonObject ToTokenizerJson()
    {
        JsonObject ByteLevelStep(bool addPrefixSpace, bool trimOffsets) => new()
        {
            ["type"] = "ByteLevel",
            ["add_prefix_space"] = addPrefixSpace,
            ["trim_offsets"] = trimOffsets,
            ["use_regex"] = true,
        };
        var mergesArray = new JsonArray();
        foreach (var (left, right) in Merges)
            mergesArray.Add($"{left} {right}");
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = HfFiles.AddedTokens([new SpecialToken(EosId, EndOfTextToken)]),
            ["normalizer"] = Lowercase ? new JsonObject { ["type"] = "Lowercase" } : null,
            ["pre_tokenizer"] = ByteLevelStep(false, true),
            ["post_processor"] = ByteLevelStep(true, false),
            ["decoder"] = ByteLevelStep(true, true),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "",
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = false,
                ["vocab"] = HfFiles.VocabObject(idToToken),
                ["merges"] = mergesArray,
            },
        };
    }
}
