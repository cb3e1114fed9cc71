using System.Diagnostics;
using FineTuneService.Training.Tokenization;

namespace FineTuneService.Benchmarks;

/// <summary>Our WordPiece tokenizer against Hugging Face <c>tokenizers</c> (Rust, via <c>Tokenizers.DotNet</c>) on the
/// fixture's real text, one thread each; the ids must be identical for every text before any timing counts.</summary>
public static class TokenizerBenchmark
{
    public static Comparison Run(Fixture fixture, int passes)
    {
        var ours = WordPieceTokenizer.FromFolder(fixture.Dir);
        using var peer = new Tokenizers.DotNet.Tokenizer(vocabPath: Path.Combine(fixture.Dir, "tokenizer.json"));
        var texts = fixture.Texts;
        for (int i = 0; i < texts.Count; i++)
        {
            var mine = ours.Encode(texts[i]).Ids;
            var theirs = peer.Encode(texts[i]);
            if (!mine.SequenceEqual(theirs.Select(id => (int)id)))
            {
                throw new InvalidOperationException($"ids differ on text {i}: {texts[i]}");
            }
        }
        var (oursRate, peerRate) = Alternating.Run("tokenizer", () => Rate(passes, texts, t => ours.Encode(t).Ids.Length),
            () => Rate(passes, texts, t => peer.Encode(t).Length));
        var oneThread = new SideSettings("cpu", 1, "exact ids", 1);
        return new Comparison("tokenizer_tokens_per_second", oursRate, peerRate, "tokens/s", ">=2",
            new() { ["texts"] = texts.Count, ["passes"] = passes, ["ids_identical"] = true })
            .WithSettings(oneThread with { Engine = "WordPiece (ours)" }, oneThread with { Engine = "Hugging Face tokenizers (Rust)" },
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
