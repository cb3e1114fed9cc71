using System.Text;
using System.Text.Json.Nodes;
using FineTuneService.Training.Tokenization;
using HuggingFaceTokenizer = Tokenizers.DotNet.Tokenizer;

namespace FineTuneService.Training.Tests.Tokenization;

/// <summary>Every Unicode code point, in a few contexts, tokenized by ours and by Hugging Face `tokenizers` (Rust,
/// through Tokenizers.DotNet) from the same tokenizer.json: Unicode data differs between .NET and the Rust crates
/// (categories, case pairs), and this is where it would show.</summary>
public class HuggingFaceParityTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EveryCodePointGivesHuggingFaceWordPieceIds(bool lowercase)
    {
        var fixture = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.MiniLm, "tokenizer.json")))!;
        fixture["normalizer"]!["lowercase"] = lowercase;
        var dir = TempDir.Create();
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), fixture.ToJsonString());
        AssertEveryCodePointAgrees(WordPieceTokenizer.FromFolder(dir), dir);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryCodePointGivesHuggingFaceByteLevelBpeIds(bool lowercase)
    {
        var corpus = WordPieceTokenizerTests.ReferenceLines().Select(l => l.Text).Take(500);
        var tokenizer = BpeTrainer.Train(corpus, vocabSize: 600, minFrequency: 2, lowercase);
        var dir = TempDir.Create();
        tokenizer.Save(dir);
        AssertEveryCodePointAgrees(tokenizer, dir);
    }

    /// <summary>Code points 0–0x3FFFF and the tag and variation-selector block, 512 to a text, each as
    /// <c>a{c}b {c}A{c}'s 1{c}</c>; a differing text is then narrowed down to its code points.</summary>
    private static void AssertEveryCodePointAgrees(ITokenizer ours, string dir)
    {
        using var huggingFace = new HuggingFaceTokenizer(vocabPath: Path.Combine(dir, "tokenizer.json"));
        bool Agree(string text) => ours.Encode(text).Ids.SequenceEqual(huggingFace.Encode(text).Select(id => (int)id));
        static string Context(int cp)
        {
            string c = char.ConvertFromUtf32(cp);
            return $"a{c}b {c}A{c}'s 1{c} ";
        }

        var codePoints = Enumerable.Range(0, 0x40000).Concat(Enumerable.Range(0xE0000, 0x200))
            .Where(cp => cp is < 0xD800 or > 0xDFFF);
        var differing = new List<string>();
        foreach (var chunk in codePoints.Chunk(512))
        {
            var text = new StringBuilder();
            foreach (int cp in chunk)
                text.Append(Context(cp));
            if (!Agree(text.ToString()))
                differing.AddRange(chunk.Where(cp => !Agree(Context(cp))).Select(cp => $"U+{cp:X4}"));
        }
        Assert.True(differing.Count == 0, $"{differing.Count} code points differ: {string.Join(" ", differing.Take(20))}");
    }
}
