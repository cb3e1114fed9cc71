using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;

namespace FineTuneService.Training.Tokenization;

/// <summary>GPT-2's byte-level BPE, as Hugging Face `tokenizers` runs it: special tokens in the text kept whole,
/// the GPT-2 pre-tokenizer regex, UTF-8 bytes as chars, merges applied by rank. No template tokens are added.</summary>
public sealed class ByteLevelBpeTokenizer : ITokenizer
{
    public const string EndOfText = "<|endoftext|>";
    private const int WordCacheCapacity = 100_000;

    private readonly string[] idToToken;
    private readonly Dictionary<string, int> tokenToId;
    /// <summary>(left id &lt;&lt; 32 | right id) → the merge's rank and the id of the merged token.</summary>
    private readonly Dictionary<long, (int Rank, int Merged)> merges;
    /// <summary>The id of each byte's char.</summary>
    private readonly int[] byteIds = new int[256];
    private readonly SpecialTokenMatcher specialMatcher;
    private readonly HashSet<int> specialIds;
    /// <summary>Pre-token text → ids; the greedy merge loop runs once per distinct word.</summary>
    private readonly ConcurrentDictionary<string, int[]> wordCache = new();
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> wordCacheLookup;
    private int cachedWords;

    [ThreadStatic] private static TokenSequence? firstScratch, secondScratch;

    public ByteLevelBpeTokenizer(IReadOnlyList<string> vocab, IReadOnlyList<(string Left, string Right)> mergeList,
        bool lowercase = false, string endOfText = EndOfText, int? modelMaxLength = null)
    {
        Lowercase = lowercase;
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
                : throw new InvalidDataException($"Merge {rank} ('{left} {right}') uses '{token}', which is not in the vocabulary.");
            merges.TryAdd(Pair(Id(left), Id(right)), (rank, Id(left + right)));
        }
        for (int b = 0; b < 256; b++)
        {
            string c = ByteLevel.ByteToChar[b].ToString();
            byteIds[b] = tokenToId.TryGetValue(c, out int id)
                ? id
                : throw new InvalidDataException($"The vocabulary lacks the byte char '{c}' (byte {b}).");
        }
        EosId = tokenToId.TryGetValue(endOfText, out int eos)
            ? eos
            : throw new InvalidDataException($"The vocabulary has no '{endOfText}'.");
        EndOfTextToken = endOfText;
        var specials = new[] { new SpecialToken(EosId, endOfText) };
        specialMatcher = new SpecialTokenMatcher(specials);
        specialIds = [EosId];
        ModelMaxLength = modelMaxLength;
        wordCacheLookup = wordCache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int VocabSize => idToToken.Length;
    /// <summary>GPT-2 has no padding token; padding uses end-of-text, as is usual with Hugging Face.</summary>
    public int PadId => EosId;
    public int EosId { get; }
    public int? MaskId => null;
    /// <summary>A Lowercase normalizer runs before pre-tokenization.</summary>
    public bool Lowercase { get; }
    private string EndOfTextToken { get; }
    public int? ModelMaxLength { get; }
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
        return EncodingTemplate.Build(first, second, maxLength, truncation, addSpecialTokens, cls: null, sep: null, idToToken);
    }

    private void EncodeSequence(string text, TokenSequence output)
    {
        output.Clear();
        int wordId = 0;
        int at = 0;
        while (at < text.Length)
        {
            int special = specialMatcher.FindNext(text, at, out var token);
            int plainEnd = special < 0 ? text.Length : special;
            if (Lowercase && at < plainEnd)
                EncodeLowercased(text, at, plainEnd, output, ref wordId);
            else
                EncodePlain(text, at, plainEnd, output, ref wordId);
            at = plainEnd;
            if (special < 0)
                break;
            output.Add(token!.Id, special, special + token.Content.Length, wordId++);
            at = special + token.Content.Length;
        }
    }

    private void EncodePlain(string text, int start, int end, TokenSequence output, ref int wordId)
    {
        while (start < end)
        {
            int next = ByteLevel.NextPreToken(text, start, end);
            AddWord(text, start, next, output, wordId++);
            start = next;
        }
    }

    /// <summary>Encodes text[start..end) lowercased (Rust's full lowercase), with offsets mapped back to the original text.</summary>
    private void EncodeLowercased(string text, int start, int end, TokenSequence output, ref int wordId)
    {
        var origin = new List<int>(end - start + 1);
        string lowered = ByteLevel.Lowercase(text, start, end, origin);
        int mark = output.Count;
        EncodePlain(lowered, 0, lowered.Length, output, ref wordId);
        for (int t = mark; t < output.Count; t++)
            output.Offsets[t] = (origin[output.Offsets[t].Start], origin[output.Offsets[t].End]);
    }

    /// <summary>Appends the BPE tokens of text[start..end), with offsets of the chars whose bytes each token covers.</summary>
    private void AddWord(string text, int start, int end, TokenSequence output, int wordId)
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

    private static int CharWidth(string text, int at, int end) =>
        char.IsHighSurrogate(text[at]) && at + 1 < end && char.IsLowSurrogate(text[at + 1]) ? 2 : 1;

    private static int Utf8Length(string text, int at, int end, out int width)
    {
        width = CharWidth(text, at, end);
        char c = text[at];
        return width == 2 ? 4 : c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    }

    private static long Pair(int left, int right) => (long)left << 32 | (uint)right;

    /// <summary>BPE on the UTF-8 bytes of one word: again and again the adjacent pair of lowest rank is merged,
    /// all its occurrences left to right.</summary>
    private int[] Merge(ReadOnlySpan<char> word)
    {
        // Lone surrogates become U+FFFD, as in a Rust string.
        var bytes = System.Text.Encoding.UTF8.GetBytes(word.ToArray());
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

    /// <summary>The ByteLevel decoder: token chars back to bytes, bytes to UTF-8 text.</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var chars = new StringBuilder();
        foreach (int id in ids)
        {
            if ((uint)id < (uint)idToToken.Length && !(skipSpecialTokens && specialIds.Contains(id)))
                chars.Append(idToToken[id]);
        }
        return ByteLevel.FromByteChars(chars.ToString());
    }

    /// <summary>Loads tokenizer.json when present, otherwise vocab.json + merges.txt.</summary>
    public static ByteLevelBpeTokenizer FromFolder(string dir)
    {
        var config = HfFiles.ReadJsonObject(Path.Combine(dir, HfFiles.TokenizerConfig));
        int? modelMaxLength = HfFiles.ModelMaxLength(config);
        string endOfText = HfFiles.TokenContent(config?["eos_token"]) ?? EndOfText;
        string tokenizerJson = Path.Combine(dir, HfFiles.TokenizerJson);
        if (File.Exists(tokenizerJson))
        {
            var root = HfFiles.ReadJsonObject(tokenizerJson) ?? throw new InvalidDataException($"{tokenizerJson} is empty.");
            var model = root["model"]?.AsObject() ?? throw new InvalidDataException($"{tokenizerJson} has no model.");
            string type = model["type"]?.GetValue<string>() ?? "";
            string preTokenizer = root["pre_tokenizer"]?["type"]?.GetValue<string>() ?? "";
            if (type != "BPE" || preTokenizer != "ByteLevel")
                throw new InvalidDataException($"{tokenizerJson} holds a '{type}' model with pre_tokenizer '{preTokenizer}', not a byte-level BPE.");
            if (root["pre_tokenizer"]?["add_prefix_space"]?.GetValue<bool>() == true)
                throw new InvalidDataException($"{tokenizerJson}: add_prefix_space is not supported.");
            var vocab = HfFiles.VocabByIds(model["vocab"]?.AsObject() ?? throw new InvalidDataException($"{tokenizerJson} has no vocab."), tokenizerJson);
            string normalizer = root["normalizer"]?["type"]?.GetValue<string>() ?? "none";
            if (normalizer is not ("none" or "Lowercase"))
                throw new InvalidDataException($"{tokenizerJson}: normalizer '{normalizer}' is not supported (none or Lowercase are).");
            var mergeList = (model["merges"]?.AsArray() ?? []).Select(m => m is JsonArray pair
                ? (pair[0]!.GetValue<string>(), pair[1]!.GetValue<string>())
                : ParseMerge(m!.GetValue<string>())).ToList();
            return new ByteLevelBpeTokenizer(vocab, mergeList, normalizer == "Lowercase", endOfText, modelMaxLength);
        }
        string vocabJson = Path.Combine(dir, HfFiles.VocabJson), mergesTxt = Path.Combine(dir, HfFiles.MergesTxt);
        if (!File.Exists(vocabJson) || !File.Exists(mergesTxt))
            throw new FileNotFoundException($"A byte-level BPE tokenizer needs {HfFiles.TokenizerJson} or {HfFiles.VocabJson} + {HfFiles.MergesTxt} in {dir}.");
        var vocabFromJson = HfFiles.VocabByIds(HfFiles.ReadJsonObject(vocabJson)!, vocabJson);
        var merges = File.ReadAllLines(mergesTxt).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).Select(ParseMerge).ToList();
        return new ByteLevelBpeTokenizer(vocabFromJson, merges, endOfText: endOfText, modelMaxLength: modelMaxLength);
    }

    private static (string, string) ParseMerge(string line)
    {
        int space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0)
            throw new InvalidDataException($"A merge must be two tokens separated by a space: '{line}'.");
        return (line[..space], line[(space + 1)..]);
    }

    /// <summary>Writes vocab.json, merges.txt, tokenizer.json, tokenizer_config.json and special_tokens_map.json.</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
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
    private JsonObject ToTokenizerJson()
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
