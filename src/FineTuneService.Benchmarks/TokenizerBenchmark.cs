using System.Diagnostics;
using FineTuneService.TestData;
using FineTuneService.Training.Tokenization;

namespace FineTuneService.Benchmarks;

/// <summary>Our tokenizers against Hugging Face <c>tokenizers</c> (Rust, via <c>Tokenizers.DotNet</c>) on the fixture's
/// real text, one thread each, one comparison per kind on the same tokenizer.json: WordPiece (MiniLM's), byte-level BPE
/// (GPT-2's real 50k ranks) and SentencePiece Unigram (tests/fixtures/sentencepiece, XLM-R's kind). The ids must be
/// identical for every text before any timing counts.</summary>
public static class TokenizerBenchmark
{
    public static IEnumerable<Comparison> Run(Fixture fixture, string work, int passes)
    {
        yield return Compare("tokenizer_tokens_per_second", "WordPiece (ours)", WordPieceTokenizer.FromFolder(fixture.Dir), fixture.Dir, fixture.Texts, passes);
        var gpt2 = Path.Combine(work, "gpt2-tokenizer");
        ByteLevelBpeTokenizer.FromRanks(Gpt2Ranks.Tokens).Save(gpt2);
        yield return Compare("tokenizer_bpe_tokens_per_second", "byte-level BPE, GPT-2's ranks (ours)", ByteLevelBpeTokenizer.FromFolder(gpt2), gpt2, fixture.Texts, passes);
        var unigram = Path.Combine(Repository.FixturesDir, "sentencepiece");
        yield return Compare("tokenizer_unigram_tokens_per_second", "SentencePiece Unigram (ours)", UnigramTokenizer.FromFolder(unigram), unigram, fixture.Texts, passes);
    }

    static Comparison Compare(string name, string engine, ITokenizer ours, string dir, IReadOnlyList<string> texts, int passes)
    {
        using var peer = new Tokenizers.DotNet.Tokenizer(vocabPath: Path.Combine(dir, "tokenizer.json"));
        for (int i = 0; i < texts.Count; i++)
        {
            var mine = ours.Encode(texts[i]).Ids;
            var theirs = peer.Encode(texts[i]);
            if (!mine.SequenceEqual(theirs.Select(id => (int)id)))
            {
                throw new InvalidOperationException($"{name}: ids differ on text {i}: {texts[i]}");
            }
        }
        var (oursRate, peerRate) = Alternating.Run(name, () => Rate(passes, texts, t => ours.Encode(t).Ids.Length),
            () => Rate(passes, texts, t => peer.Encode(t).Length));
        var oneThread = new SideSettings("cpu", 1, "exact ids", 1);
        return new Comparison(name, oursRate, peerRate, "tokens/s", ">=2",
            new() { ["texts"] = texts.Count, ["passes"] = passes, ["ids_identical"] = true })
            .WithSettings(oneThread with { Engine = engine }, oneThread with { Engine = "Hugging Face tokenizers (Rust)" },
                Environment.ProcessorCount);
    }

    static double Rate(int passes, IReadOnlyList<string> texts, Func<string, int> encode)
    {
        foreach (var text in texts)
        {
            encode(text);
        }
        long tokens = 0;
        var clock = Stopwatch.StartNew();
        for (int p = 0; p < passes; p++)
        {
            foreach (var text in texts)
            {
                tokens += encode(text);
            }
        }
        return tokens / clock.Elapsed.TotalSeconds;
    }
}
