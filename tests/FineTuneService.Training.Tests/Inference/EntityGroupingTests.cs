using FineTuneService.Training.Inference;
using FineTuneService.Training.Tokenization;

namespace FineTuneService.Training.Tests.Inference;

public class EntityGroupingTests
{
    static readonly WordPieceTokenizer Tokenizer = new(
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "alice", "smith", "met", "bob", "in", "new", "york", "paris", "##ian", "##s", ".",
    ]);

    static (string Entity, string Text, int Start, int End, double Score)[] Group(string text, params string[] wordLabels)
    {
        var encoding = Tokenizer.Encode(text);
        // Labels on each word's first sub-token; later sub-tokens and specials get labels that must be ignored.
        var labels = new string[encoding.Length];
        var scores = new float[encoding.Length];
        for (int t = 0; t < encoding.Length; t++)
        {
            bool first = encoding.WordIds[t] is { } w && (t == 0 || encoding.WordIds[t - 1] != w);
            labels[t] = first ? wordLabels[encoding.WordIds[t]!.Value] : "B-NOISE";
            scores[t] = first ? 0.5f + 0.1f * encoding.WordIds[t]!.Value : 0f;
        }
        return EntityGrouping.Group(new EncodedInput(new PredictInput(text), encoding), labels, scores)
            .Select(e => (e.Type, e.Text, e.Start, e.End, e.Score))
            .ToArray();
    }

    [Fact]
    public void B_opens_I_continues_the_same_type_and_O_closes()
    {
        var entities = Group("Alice Smith met Bob in New York.", "B-PER", "I-PER", "O", "B-PER", "O", "B-LOC", "I-LOC", "O");

        Assert.Equal(
            [("PER", "Alice Smith", 0, 11), ("PER", "Bob", 16, 19), ("LOC", "New York", 23, 31)],
            entities.Select(e => (e.Entity, e.Text, e.Start, e.End)));
        Assert.Equal((0.5 + 0.6) / 2, entities[0].Score, 5);
    }

    [Fact]
    public void An_entity_covers_whole_words_and_a_stray_I_or_a_type_change_opens_a_new_one()
    {
        var entities = Group("Parisians met Alice Smith", "I-LOC", "O", "B-PER", "I-LOC");

        Assert.Equal(
            [("LOC", "Parisians", 0, 9), ("PER", "Alice", 14, 19), ("LOC", "Smith", 20, 25)],
            entities.Select(e => (e.Entity, e.Text, e.Start, e.End)));
    }
}
