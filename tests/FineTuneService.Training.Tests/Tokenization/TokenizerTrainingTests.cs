using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Tokenization;
using HuggingFaceTokenizer = Tokenizers.DotNet.Tokenizer;
// Tokenizers.DotNet's namespace `Tokenizers` hides our static class of that name.
using TokenizerFolder = FineTuneService.Training.Tokenization.Tokenizers;

namespace FineTuneService.Training.Tests.Tokenization;

/// <summary>Tokenizers trained on real text (the reference lines of PackageText: a package's documentation, hard Unicode),
/// checked against the Hugging Face `tokenizers` library (Rust, through Tokenizers.DotNet) loading our files.</summary>
public class TokenizerTrainingTests
{
    static readonly Lazy<string[]> Lines = new(() => WordPieceTokenizerTests.ReferenceLines().Select(l => l.Text).ToArray());
    static string[] Corpus => Lines.Value[..2500];
    static string[] HeldOut => Lines.Value[2500..];

    static readonly Lazy<WordPieceTokenizer> TrainedWordPiece = new(() =>
        WordPieceTrainer.Train(Corpus, vocabSize: 2000, lowercase: true, minFrequency: 2));

    static readonly Lazy<ByteLevelBpeTokenizer> TrainedBpe = new(() =>
        BpeTrainer.Train(Corpus, vocabSize: 2000, minFrequency: 2));

    [Fact]
    public void WordPieceTrainingIsDeterministic()
    {
        var again = WordPieceTrainer.Train(Corpus, vocabSize: 2000, lowercase: true, minFrequency: 2);
        AssertSameFiles(TrainedWordPiece.Value, again, "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json");
    }

    [Fact]
    public void BpeTrainingIsDeterministic()
    {
        var again = BpeTrainer.Train(Corpus, vocabSize: 2000, minFrequency: 2);
        AssertSameFiles(TrainedBpe.Value, again, "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json");
    }

    [Fact]
    public void TrainedWordPieceHasTheBertLayoutAndCoversSeenWords()
    {
        var tokenizer = TrainedWordPiece.Value;
        Assert.Equal(2000, tokenizer.VocabSize);
        Assert.Equal(WordPieceTrainer.SpecialTokens, tokenizer.Vocab.Take(5));
        Assert.Equal((0, 1, 2, 3, 4), (tokenizer.PadId, tokenizer.UnkId, tokenizer.ClsId, tokenizer.SepId, tokenizer.MaskId));
        Assert.Contains("##s", tokenizer.Vocab);

        // Every word of this sentence occurs in the corpus; none may become [UNK].
        const string sentence = "Returns the value of the field, parsed from the given stream; see the descriptor for details.";
        var encoding = tokenizer.Encode(sentence);
        Assert.DoesNotContain(tokenizer.UnkId, encoding.Ids);
        Assert.Contains("the", encoding.Tokens);
        Assert.Equal("returns the value of the field, parsed from the given stream ; see the descriptor for details.", tokenizer.Decode(encoding.Ids));

        var rareTokens = HeldOut.Sum(text => tokenizer.Encode(text).Ids.Count(id => id == tokenizer.UnkId));
        var allTokens = HeldOut.Sum(text => tokenizer.Encode(text).Length);
        Assert.True(rareTokens < allTokens / 50, $"{rareTokens} of {allTokens} held-out tokens are [UNK]");
    }

    [Fact]
    public void TrainedWordPieceRoundTripsAndHuggingFaceEncodesItIdentically() =>
        AssertReloadedAndHuggingFaceAgree<WordPieceTokenizer>(TrainedWordPiece.Value, HeldOut);

    [Fact]
    public void TrainedBpeRoundTripsAndHuggingFaceEncodesItIdentically()
    {
        string[] extra = ["It's  a\ttest  \n\n of   spaces ", "Ünïcödé 😀 北京 ﬁ 123abc's 'll <|endoftext|>next", "  ", ""];
        var dir = AssertReloadedAndHuggingFaceAgree<ByteLevelBpeTokenizer>(TrainedBpe.Value, HeldOut.Concat(extra));

        // Loading from vocab.json + merges.txt alone gives the same tokenizer.
        File.Delete(Path.Combine(dir, "tokenizer.json"));
        var fromMerges = Assert.IsType<ByteLevelBpeTokenizer>(TokenizerFolder.LoadFromFolder(dir));
        foreach (var text in HeldOut.Take(200))
            Assert.Equal(TrainedBpe.Value.Encode(text).Ids, fromMerges.Encode(text).Ids);
    }

    [Fact]
    public void LowercasedBpeMatchesHuggingFace()
    {
        var tokenizer = BpeTrainer.Train(Corpus[..500], vocabSize: 600, minFrequency: 2, lowercase: true);
        var dir = AssertReloadedAndHuggingFaceAgree<ByteLevelBpeTokenizer>(tokenizer, HeldOut.Take(200).Append("HELLO World İstanbul"));
        Assert.Equal("Lowercase", JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")))!["normalizer"]!["type"]!.GetValue<string>());
        var encoding = tokenizer.Encode("HELLO World");
        Assert.Equal("HELLO World", "HELLO World"[encoding.Offsets[0].Start..encoding.Offsets[^1].End]);
    }

    [Fact]
    public void ByteLevelBpeIsLosslessWithOffsetsIntoTheText()
    {
        var tokenizer = TrainedBpe.Value;
        const string text = "Héllo, world's 😀  end\t<|endoftext|>x";
        var encoding = tokenizer.Encode(text);
        Assert.Equal(text, tokenizer.Decode(encoding.Ids, skipSpecialTokens: false));
        Assert.Equal(text.Replace("<|endoftext|>", ""), tokenizer.Decode(encoding.Ids));
        Assert.Equal(tokenizer.EosId, encoding.Ids[encoding.WordIds.ToList().IndexOf(encoding.WordIds[^2])]);
        Assert.Equal("<|endoftext|>", text[encoding.Offsets[^2].Start..encoding.Offsets[^2].End]);
        Assert.All(encoding.TypeIds, t => Assert.Equal(0, t));
        foreach (var (start, end) in encoding.Offsets)
            Assert.True(0 <= start && start < end && end <= text.Length);
        // Tokens cover the text in order: each starts where the previous ended, or inside the same char.
        for (int i = 1; i < encoding.Length; i++)
            Assert.True(encoding.Offsets[i].Start >= encoding.Offsets[i - 1].Start && encoding.Offsets[i].Start <= encoding.Offsets[i - 1].End);
        Assert.Equal(text.Length, encoding.Offsets[^1].End);

        var pair = tokenizer.Encode("the message", "field", maxLength: 3);
        Assert.Equal(3, pair.Length);
        Assert.Equal([0, 0, 1], pair.TypeIds);
    }

    [Fact]
    public void LoadFromFolderPicksTheTokenizerFromTheFiles()
    {
        Assert.IsType<WordPieceTokenizer>(TokenizerFolder.LoadFromFolder(Fixtures.MiniLm));
        var empty = TempDir.Create();
        Assert.Throws<InvalidCheckpointException>(() => TokenizerFolder.LoadFromFolder(empty));
    }

    /// <summary>Saves the tokenizer, loads the folder back with ours and with Hugging Face's, and checks that all three agree.</summary>
    static string AssertReloadedAndHuggingFaceAgree<T>(ITokenizer tokenizer, IEnumerable<string> texts) where T : ITokenizer
    {
        var dir = TempDir.Create();
        tokenizer.Save(dir);
        var reloaded = Assert.IsType<T>(TokenizerFolder.LoadFromFolder(dir));
        using var huggingFace = new HuggingFaceTokenizer(vocabPath: Path.Combine(dir, "tokenizer.json"));
        foreach (var text in texts)
        {
            var ids = tokenizer.Encode(text).Ids;
            Assert.Equal(ids, reloaded.Encode(text).Ids);
            Assert.Equal(ids, huggingFace.Encode(text).Select(id => (int)id));
        }
        return dir;
    }

    static void AssertSameFiles(ITokenizer first, ITokenizer second, params string[] files)
    {
        string a = TempDir.Create(), b = TempDir.Create();
        first.Save(a);
        second.Save(b);
        foreach (var file in files)
            Assert.Equal(File.ReadAllBytes(Path.Combine(a, file)), File.ReadAllBytes(Path.Combine(b, file)));
    }
}
