using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;

namespace FineTuneService.Training.Tokenization;

/// <summary>SentencePiece Unigram (XLM-R, T5, ALBERT) from tokenizer.json as Hugging Face `tokenizers` runs it: added
/// tokens kept whole, the normalizer (Precompiled charsmap, NFKC, Replace, Strip, …), the Metaspace pre-tokenizer, Viterbi
/// over the scored pieces (unknown chars fused into one unk, or UTF-8 byte pieces with byte_fallback), then the
/// post-processor's template.</summary>
public sealed class UnigramTokenizer : ITokenizer
{
    /// <summary>Unknown chars score this much below the vocabulary's lowest piece (the Rust crate's K_UNK_PENALTY).</summary>
    const double UnkPenalty = 10.0;
    const int WordCacheCapacity = 100_000;

    readonly string[] idToToken;
    readonly double[] scores;
    readonly Dictionary<string, int> tokenToId;
    readonly VocabTrie trie;
    readonly int? unkId;
    readonly double unkScore;
    /// <summary>The id of each byte's <c>&lt;0xXX&gt;</c> piece (-1 where missing); null without byte_fallback.</summary>
    readonly int[]? byteIds;
    readonly TextNormalizer? normalizer;
    readonly Metaspace? metaspace;
    readonly AddedVocabulary added;
    readonly HashSet<int> specialIds;
    readonly JsonObject tokenizerJson;
    readonly JsonObject? tokenizerConfig;
    /// <summary>Word → its pieces; Viterbi runs once per distinct word.</summary>
    readonly ConcurrentDictionary<string, (int Start, int End, int Id)[]> wordCache = new();
    readonly ConcurrentDictionary<string, (int Start, int End, int Id)[]>.AlternateLookup<ReadOnlySpan<char>> wordCacheLookup;
    int cachedWords;

    [ThreadStatic] static TokenSequence? firstScratch, secondScratch;

    UnigramTokenizer(List<(string Piece, double Score)> vocab, int? unkId, bool byteFallback, TextNormalizer? normalizer, Metaspace? metaspace,
        IReadOnlyList<AddedToken> addedTokens, PostTemplate template, JsonObject tokenizerJson, JsonObject? tokenizerConfig, string path)
    {
        if (vocab.Count == 0)
            throw new InvalidCheckpointException($"{path}: the Unigram vocabulary is empty.");
        if (unkId is int unk && (uint)unk >= (uint)vocab.Count)
            throw new InvalidCheckpointException($"{path}: unk_id {unk} is not in the vocabulary of {vocab.Count}.");
        idToToken = vocab.Select(v => v.Piece).ToArray();
        scores = vocab.Select(v => v.Score).ToArray();
        tokenToId = new Dictionary<string, int>(idToToken.Length);
        for (int id = 0; id < idToToken.Length; id++)
            tokenToId[idToToken[id]] = id;
        trie = new VocabTrie(tokenToId.Select(e => (e.Key, e.Value)));
        this.unkId = unkId;
        unkScore = scores.Min() - UnkPenalty;
        if (byteFallback)
        {
            byteIds = new int[256];
            for (int b = 0; b < 256; b++)
                byteIds[b] = tokenToId.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        }
        this.normalizer = normalizer;
        this.metaspace = metaspace;
        foreach (var token in addedTokens)
        {
            if ((uint)token.Id >= (uint)idToToken.Length || idToToken[token.Id] != token.Content)
                throw new InvalidCheckpointException($"{path}: the added token '{token.Content}' (id {token.Id}) is not that piece of the vocabulary.");
        }
        added = new AddedVocabulary(addedTokens, normalizer);
        Specials = addedTokens.Where(t => t.Special).Select(t => new SpecialToken(t.Id, t.Content)).OrderBy(t => t.Id).ToArray();
        specialIds = Specials.Select(t => t.Id).ToHashSet();
        Template = template;
        this.tokenizerJson = tokenizerJson;
        this.tokenizerConfig = tokenizerConfig;
        int? Find(string? token) => token is not null && tokenToId.TryGetValue(token, out int id) ? id : null;
        PadId = Find(HfFiles.TokenContent(tokenizerConfig?["pad_token"])) ?? Find("<pad>") ?? unkId ?? 0;
        MaskId = Find(HfFiles.TokenContent(tokenizerConfig?["mask_token"])) ?? addedTokens.FirstOrDefault(t => t.Content == "<mask>")?.Id;
        ModelMaxLength = HfFiles.ModelMaxLength(tokenizerConfig);
        wordCacheLookup = wordCache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int VocabSize => idToToken.Length;
    /// <summary>tokenizer_config.json's pad_token, else <c>&lt;pad&gt;</c>, else unk.</summary>
    public int PadId { get; }
    public int? MaskId { get; }
    public IReadOnlyList<SpecialToken> Specials { get; }
    public PostTemplate Template { get; }
    public int? ModelMaxLength { get; }
    public IReadOnlyList<string> Vocab => idToToken;

    public Encoding Encode(string text, string? textPair = null, int? maxLength = null,
        TruncationStrategy truncation = TruncationStrategy.LongestFirst, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var first = firstScratch ??= new TokenSequence();
        added.Encode(text, normalizer, first, EncodePiece);
        TokenSequence? second = null;
        if (textPair is not null)
        {
            second = secondScratch ??= new TokenSequence();
            added.Encode(textPair, normalizer, second, EncodePiece);
        }
        return EncodingTemplate.Build(first, second, maxLength, truncation, addSpecialTokens, Template, idToToken);
    }

    /// <summary>One normalized piece between added tokens: Metaspace, then each word's best segmentation.</summary>
    void EncodePiece(NormalizedText piece, bool first, TokenSequence output, ref int wordId)
    {
        if (metaspace is not null)
            piece = metaspace.Apply(piece, first);
        var words = metaspace?.Words(piece.Text) ?? [(0, piece.Length)];
        foreach (var (start, end) in words)
        {
            int wid = wordId++;
            foreach (var (s, e, id) in Pieces(piece.Text.AsSpan(start, end - start)))
            {
                var (os, oe) = piece.OriginalRange(start + s, start + e);
                output.Add(id, os, oe, wid);
            }
        }
    }

    (int Start, int End, int Id)[] Pieces(ReadOnlySpan<char> word)
    {
        if (wordCacheLookup.TryGetValue(word, out var pieces))
            return pieces;
        pieces = Segment(word);
        // ConcurrentDictionary.Count takes every lock: count the entries here instead.
        if (cachedWords < WordCacheCapacity && wordCacheLookup.TryAdd(word, pieces))
            Interlocked.Increment(ref cachedWords);
        return pieces;
    }

    /// <summary>The Rust crate's encode_optimized: for each end position the best-scoring path (ties keep the first found,
    /// scanning starts left to right and pieces shortest first); a char no single piece covers is unk, runs of unk fuse,
    /// and a fused unk that is no piece becomes its UTF-8 byte pieces when byte_fallback has them all.</summary>
    (int Start, int End, int Id)[] Segment(ReadOnlySpan<char> word)
    {
        int n = word.Length;
        var best = new double[n + 1];
        var from = new int[n + 1];
        var ids = new int[n + 1];
        Array.Fill(from, -1);
        for (int start = 0; start < n;)
        {
            double here = best[start];
            int width = NormalizedText.CharWidth(word, start);
            bool single = false;
            int node = VocabTrie.Root;
            for (int k = start; k < n && (node = trie.Step(node, word[k])) >= 0; k++)
            {
                int id = trie.IdAt(node);
                if (id < 0)
                    continue;
                Offer(k + 1, scores[id] + here, start, id);
                single |= k + 1 - start == width;
            }
            if (!single)
                Offer(start + width, unkScore + here, start, unkId ?? throw new InvalidCheckpointException("The Unigram model met an unknown char but has no unk_id."));
            start += width;
        }

        void Offer(int end, double score, int start, int id)
        {
            if (from[end] < 0 || score > best[end])
                (best[end], from[end], ids[end]) = (score, start, id);
        }

        var pieces = new List<(int Start, int End, int Id)>();
        for (int end = n; end > 0;)
        {
            int start = from[end];
            if (ids[end] == unkId)
            {
                while (start > 0 && ids[start] == unkId)
                    start = from[start];
            }
            pieces.Add((start, end, ids[end]));
            end = start;
        }
        pieces.Reverse();
        var result = new List<(int Start, int End, int Id)>(pieces.Count);
        foreach (var (start, end, id) in pieces)
        {
            if (id != unkId)
            {
                result.Add((start, end, id));
                continue;
            }
            string text = word[start..end].ToString();
            byte[] bytes = byteIds is null ? [] : System.Text.Encoding.UTF8.GetBytes(text);
            if (tokenToId.TryGetValue(text, out int whole))
            {
                result.Add((start, end, whole));
            }
            else if (byteIds is not null && bytes.All(b => byteIds[b] >= 0))
            {
                foreach (byte b in bytes)
                    result.Add((start, end, byteIds[b]));
            }
            else
            {
                result.Add((start, end, id));
            }
        }
        return result.ToArray();
    }

    /// <summary>The tokens' pieces through the Metaspace decoder (joined by spaces without one), as Hugging Face decodes.</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = ids.Where(id => (uint)id < (uint)idToToken.Length && !(skipSpecialTokens && specialIds.Contains(id)))
            .Select(id => idToToken[id]);
        return metaspace is not null ? metaspace.Decode(tokens) : string.Join(' ', tokens);
    }

    /// <summary>Loads tokenizer.json (a Unigram model) with tokenizer_config.json's pad and mask tokens and model_max_length.</summary>
    public static UnigramTokenizer FromFolder(string dir)
    {
        string path = Path.Combine(dir, HfFiles.TokenizerJson);
        var root = HfFiles.ReadJsonObject(path) ?? throw new InvalidCheckpointException($"A Unigram tokenizer needs {HfFiles.TokenizerJson} in {dir}.");
        var config = HfFiles.ReadJsonObject(Path.Combine(dir, HfFiles.TokenizerConfig));
        var model = root["model"] as JsonObject ?? throw new InvalidCheckpointException($"{path} has no model.");
        if (model["type"]?.GetValue<string>() != "Unigram")
            throw new InvalidCheckpointException($"{path} holds a '{model["type"]}' model, not Unigram.");
        var vocab = (model["vocab"] as JsonArray ?? throw new InvalidCheckpointException($"{path}: the Unigram model has no vocab."))
            .Select(entry => entry is JsonArray { Count: 2 } pair
                ? (pair[0]!.GetValue<string>(), pair[1]!.GetValue<double>())
                : throw new InvalidCheckpointException($"{path}: a Unigram vocab entry must be [piece, score].")).ToList();
        int? unkId = model["unk_id"] is JsonValue unk ? unk.GetValue<int>() : null;
        var normalizer = TextNormalizer.FromJson(root["normalizer"], path);
        var metaspace = root["pre_tokenizer"] switch
        {
            null => null,
            JsonObject pre when pre["type"]?.GetValue<string>() == "Metaspace" => Metaspace.FromJson(pre, path),
            var other => throw new InvalidCheckpointException($"{path}: pre_tokenizer '{other["type"]}' is not supported for a Unigram model (Metaspace is)."),
        };
        var addedTokens = AddedToken.ListFromJson(root["added_tokens"], path);
        int TokenId(string token) => vocab.FindIndex(v => v.Item1 == token) is int id and >= 0
            ? id
            : throw new InvalidCheckpointException($"{path}: the post-processor names '{token}', which is no token.");
        var (template, _) = PostTemplate.FromJson(root["post_processor"] as JsonObject, path, TokenId);
        return new UnigramTokenizer(vocab, unkId, model["byte_fallback"]?.GetValue<bool>() ?? false, normalizer, metaspace,
            addedTokens, template, root, config, path);
    }

    /// <summary>Writes the tokenizer.json and tokenizer_config.json it was read from, unchanged.</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        HfFiles.WriteJson(Path.Combine(dir, HfFiles.TokenizerJson), tokenizerJson);
        if (tokenizerConfig is not null)
            HfFiles.WriteJson(Path.Combine(dir, HfFiles.TokenizerConfig), tokenizerConfig);
    }
}
