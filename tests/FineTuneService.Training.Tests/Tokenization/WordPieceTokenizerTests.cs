using System.Text.Json.Nodes;
using FineTuneService.TestData;
using FineTuneService.Training.Tokenization;

namespace FineTuneService.Training.Tests.Tokenization;

public class WordPieceTokenizerTests
{
    static readonly Lazy<WordPieceTokenizer> FromTokenizerJson = new(() => WordPieceTokenizer.FromFolder(Fixtures.MiniLm));

    static readonly Lazy<WordPieceTokenizer> FromVocabTxt = new(() =>
    {
        var dir = TempDir.Create();
        File.Copy(Path.Combine(Fixtures.MiniLm, "vocab.txt"), Path.Combine(dir, "vocab.txt"));
        File.Copy(Path.Combine(Fixtures.MiniLm, "tokenizer_config.json"), Path.Combine(dir, "tokenizer_config.json"));
        return WordPieceTokenizer.FromFolder(dir);
    });

    static WordPieceTokenizer Tokenizer => FromTokenizerJson.Value;

    static readonly Lazy<MiniLmReference> Reference = new(() => new MiniLmReference());

    static readonly Lazy<(string Text, int[] Ids)[]> Lines = new(() => PackageText.Lines
        .Select(text => (text, Reference.Value.Encode(text).Select(id => (int)id).ToArray())).ToArray());

    /// <summary>The real text of <see cref="PackageText"/>, each line with the ids Hugging Face `tokenizers` gives it.</summary>
    public static IEnumerable<(string Text, int[] Ids)> ReferenceLines() => Lines.Value;

    [Theory]
    [InlineData("tokenizer.json")]
    [InlineData("vocab.txt")]
    public void AllReferenceLinesGiveHuggingFaceIds(string loadedFrom)
    {
        var tokenizer = loadedFrom == "vocab.txt" ? FromVocabTxt.Value : FromTokenizerJson.Value;
        var lines = ReferenceLines().ToList();
        var mismatches = new List<string>();
        foreach (var (text, expected) in lines)
        {
            var actual = tokenizer.Encode(text).Ids;
            if (!actual.SequenceEqual(expected))
                mismatches.Add($"{JsonValue.Create(text).ToJsonString()}\n  expected [{string.Join(",", expected)}]\n  actual   [{string.Join(",", actual)}]");
        }
        Assert.True(lines.Count >= PackageText.DocumentationLines, $"{lines.Count} lines");
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {lines.Count} lines differ; first ones:\n{string.Join("\n", mismatches.Take(5))}");
    }

    [Fact]
    public void ReferenceOutputCasesGiveHuggingFaceIdsAndTypeIds()
    {
        var cases = Reference.Value.ParityCases();
        Assert.Equal(14, cases.Count);
        Assert.Contains(cases, c => c.TextPair is not null);
        foreach (var c in cases)
        {
            var encoding = Tokenizer.Encode(c.Text, c.TextPair);
            Assert.Equal(c.InputIds.Select(n => (int)n), encoding.Ids);
            Assert.Equal(c.TokenTypeIds.Select(n => (int)n), encoding.TypeIds);
        }
    }

    [Fact]
    public void SpecialTokensWrittenInTheTextStayWhole()
    {
        var encoding = Tokenizer.Encode("a [SEP]b[MASK] [cls]");
        Assert.Equal(["[CLS]", "a", "[SEP]", "b", "[MASK]", "[", "cl", "##s", "]", "[SEP]"], encoding.Tokens);
        Assert.Equal((2, 7), encoding.Offsets[2]);
        Assert.Equal((8, 14), encoding.Offsets[4]);
        Assert.Equal([null, 0, 1, 2, 3, 4, 5, 5, 6, null], encoding.WordIds);
        Assert.Equal((0, 0), encoding.Offsets[0]);
        Assert.Equal((0, 0), encoding.Offsets[^1]);
    }

    [Fact]
    public void OffsetsPointIntoTheOriginalText()
    {
        const string text = "  Café\tnaïve — HELLO-world 北京 ##x";
        var encoding = Tokenizer.Encode(text);
        var pieces = Enumerable.Range(1, encoding.Length - 2)
            .Select(i => text[encoding.Offsets[i].Start..encoding.Offsets[i].End]).ToArray();
        Assert.Equal(["Café", "naïve", "—", "HELLO", "-", "world", "北", "京", "#", "#", "x"], pieces);
        Assert.Equal(["cafe", "naive", "—", "hello", "-", "world", "北", "京", "#", "#", "x"], encoding.Tokens[1..^1]);

        foreach (var (line, _) in ReferenceLines().Where(l => l.Text.All(char.IsAscii)).Take(500))
        {
            var e = Tokenizer.Encode(line);
            for (int i = 1; i < e.Length - 1; i++)
            {
                if (e.Ids[i] == Tokenizer.UnkId)
                    continue;
                var (start, end) = e.Offsets[i];
                var token = e.Tokens[i];
                Assert.Equal(token.Length > 2 && token.StartsWith("##") ? token[2..] : token, line[start..end].ToLowerInvariant());
            }
        }
    }

    [Fact]
    public void SubwordsShareTheirWordId()
    {
        var encoding = Tokenizer.Encode("hyperparameterization of it");
        Assert.Equal(["[CLS]", "hyper", "##para", "##meter", "##ization", "of", "it", "[SEP]"], encoding.Tokens);
        Assert.Equal([null, 0, 0, 0, 0, 1, 2, null], encoding.WordIds);
        Assert.Equal([(0, 0), (0, 5), (5, 9), (9, 14), (14, 21), (22, 24), (25, 27), (0, 0)], encoding.Offsets);
    }

    [Fact]
    public void OverlongWordsAndUnknownCharsBecomeOneUnk()
    {
        var encoding = Tokenizer.Encode(new string('a', 101) + " " + new string('a', 100) + " x😀y");
        Assert.Equal(Tokenizer.UnkId, encoding.Ids[1]);
        Assert.Equal((0, 101), encoding.Offsets[1]);
        Assert.NotEqual(Tokenizer.UnkId, encoding.Ids[2]);
        Assert.Equal(Tokenizer.UnkId, encoding.Ids[^2]);
        Assert.Equal((203, 207), encoding.Offsets[^2]);
    }

    [Fact]
    public void PairsGetTypeIdsAndLongestFirstTruncation()
    {
        // 7 + 3 word pieces; max 10 leaves 7 for the texts: the longer loses tokens until the split fits.
        var encoding = Tokenizer.Encode("one two three four five six seven", "eight nine ten", maxLength: 10);
        Assert.Equal(["[CLS]", "one", "two", "three", "four", "[SEP]", "eight", "nine", "ten", "[SEP]"], encoding.Tokens);
        Assert.Equal([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], encoding.TypeIds);

        // Both too long: halves, and the longer one gets the odd token.
        var both = Tokenizer.Encode("a b c d e f", "g h i j", maxLength: 8);
        Assert.Equal(["[CLS]", "a", "b", "c", "[SEP]", "g", "h", "[SEP]"], both.Tokens);
        var equal = Tokenizer.Encode("a b c d", "e f g h", maxLength: 8);
        Assert.Equal(["[CLS]", "a", "b", "[SEP]", "e", "f", "g", "[SEP]"], equal.Tokens);

        var single = Tokenizer.Encode("a b c d e f", maxLength: 4);
        Assert.Equal(["[CLS]", "a", "b", "[SEP]"], single.Tokens);
        Assert.Equal(11, Tokenizer.Encode("a b c d", "e f g h", maxLength: 100).Length);
    }

    [Fact]
    public void OnlyFirstAndOnlySecondTruncateOneSide()
    {
        var onlySecond = Tokenizer.Encode("a b", "c d e f g", maxLength: 7, truncation: TruncationStrategy.OnlySecond);
        Assert.Equal(["[CLS]", "a", "b", "[SEP]", "c", "d", "[SEP]"], onlySecond.Tokens);
        var onlyFirst = Tokenizer.Encode("a b c d e", "f g", maxLength: 7, truncation: TruncationStrategy.OnlyFirst);
        Assert.Equal(["[CLS]", "a", "b", "[SEP]", "f", "g", "[SEP]"], onlyFirst.Tokens);

        Assert.Throws<ArgumentException>(() => Tokenizer.Encode("a", "b c d e f", maxLength: 5, truncation: TruncationStrategy.OnlyFirst));
        Assert.Throws<ArgumentException>(() => Tokenizer.Encode("a b c", maxLength: 3, truncation: TruncationStrategy.OnlySecond));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Encode("a", "b", maxLength: 2));
    }

    [Fact]
    public void WithoutSpecialTokensOnlyTheTextIsEncoded()
    {
        var encoding = Tokenizer.Encode("Hello, world!", addSpecialTokens: false);
        Assert.Equal([7592, 1010, 2088, 999], encoding.Ids);
    }

    [Fact]
    public void DecodeJoinsPiecesAsHuggingFaceDoes()
    {
        var ids = Tokenizer.Encode("Hello, world! Un-BELIEVABLE isn't it?").Ids;
        Assert.Equal("hello, world! un - believable isn't it?", Tokenizer.Decode(ids));
        Assert.Equal("[CLS] hello, world! un - believable isn't it? [SEP]", Tokenizer.Decode(ids, skipSpecialTokens: false));
    }

    [Fact]
    public void CasedVocabularyKeepsCaseAndAccents()
    {
        string[] vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Café", "café", "cafe", "Hello", "hello", "##s", "!"];
        var cased = new WordPieceTokenizer(vocab, lowercase: false);
        Assert.Equal(["[CLS]", "Café", "café", "Hello", "##s", "!", "[UNK]", "[SEP]"], cased.Encode("Café café Hellos! HELLO").Tokens);
        var uncasedKeepingAccents = new WordPieceTokenizer(vocab, lowercase: true, stripAccents: false);
        Assert.Equal(["[CLS]", "café", "café", "[SEP]"], uncasedKeepingAccents.Encode("Café CAFÉ").Tokens);
        var noChineseSplit = new WordPieceTokenizer([.. vocab, "北京"], tokenizeChineseChars: false);
        Assert.Equal(["[CLS]", "北京", "[SEP]"], noChineseSplit.Encode("北京").Tokens);
    }

    [Fact]
    public void SavedTokenizerJsonMatchesTheFixturesAndLoadsBack()
    {
        var dir = TempDir.Create();
        Tokenizer.Save(dir);
        foreach (var file in new[] { "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json" })
            Assert.True(File.Exists(Path.Combine(dir, file)), file);

        Assert.Equal(File.ReadAllLines(Path.Combine(Fixtures.MiniLm, "vocab.txt")), File.ReadAllLines(Path.Combine(dir, "vocab.txt")));
        var ours = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")))!;
        var theirs = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.MiniLm, "tokenizer.json")))!;
        foreach (var field in new[] { "version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model" })
            Assert.True(JsonNode.DeepEquals(theirs[field], ours[field]), $"tokenizer.json field '{field}' differs:\n{ours[field]?.ToJsonString()[..Math.Min(400, ours[field]?.ToJsonString().Length ?? 0)]}");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")))!;
        Assert.True(config["do_lower_case"]!.GetValue<bool>());
        Assert.Equal(512, config["model_max_length"]!.GetValue<int>());

        var reloaded = WordPieceTokenizer.FromFolder(dir);
        foreach (var (text, ids) in ReferenceLines().Take(200))
            Assert.Equal(ids, reloaded.Encode(text).Ids);
    }
}
