using FineTuneService.Training.Data;
using FineTuneService.Training.Tokenization;

namespace FineTuneService.Training.Tests.Data;

public sealed class PackingTests
{
    const int Cls = 2, Sep = 3, Eos = 0;

    static TokenizedSentence Sentence(int from, int count) =>
        new(Enumerable.Range(from, count).ToArray(), Enumerable.Range(0, count).Select(i => i % 2 == 0).ToArray());

    [Fact]
    public void MlmExamplesPackSentencesWithinADocument()
    {
        IReadOnlyList<TokenizedSentence>[] documents =
        [
            [Sentence(100, 5), Sentence(105, 4), Sentence(109, 30)],
            [Sentence(200, 3)],
        ];

        var examples = new MlmExampleBuilder(Cls, Sep, maxSeqLength: 12, shuffleBuffer: 1).Build(documents, new Random(0)).ToList();

        Assert.All(examples, e =>
        {
            Assert.InRange(e.Length, 3, 12);
            Assert.Equal(Cls, e.InputIds[0]);
            Assert.Equal(Sep, e.InputIds[^1]);
            Assert.All(e.TokenTypeIds, t => Assert.Equal(0, t));
        });
        Assert.Equal([.. Enumerable.Range(100, 9)], examples[0].InputIds[1..^1]);
        Assert.Equal(Enumerable.Range(100, 39).Append(200).Append(201).Append(202), examples.SelectMany(e => e.InputIds[1..^1]));
        Assert.Equal([true, false, true, false, true, true, false, true, false], examples[0].WordStarts[1..^1]);
        Assert.Equal([200, 201, 202], examples[^1].InputIds[1..^1]);
    }

    [Fact]
    public void TokenizedSentencesMarkWordStartsAndDropEmptyLines()
    {
        var tokenizer = new WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "un", "##believ", "##able", "."]);
        CorpusDocument[] documents = [new(["Hello unbelievable.", "\u200b"]), new(["\u200b"]), new(["unable"])];

        var tokenized = documents.Sentences(tokenizer).ToList();

        var sentence = Assert.Single(tokenized[0]);
        Assert.Equal([5, 6, 7, 8, 9], sentence.Ids);
        Assert.Equal([true, true, false, false, true], sentence.WordStarts);
        Assert.Equal(2, tokenized.Count);
        Assert.Equal([6, 8], tokenized[1][0].Ids);
        Assert.Equal([[5, 6, 7, 8, 9], [6, 8]], documents.TokenIds(tokenizer));
    }

    [Fact]
    public void ClmBlocksJoinDocumentsWithEndOfText()
    {
        int[][] documents = [[11, 12, 13], [21, 22], [31, 32, 33, 34, 35]];

        var blocks = ClmBlocks.Pack(documents, Eos, blockSize: 4).ToList();

        Assert.Equal([[11, 12, 13, Eos], [21, 22, Eos, 31], [32, 33, 34, 35]], blocks);
        using var batch = ClmBlocks.Collate(blocks);
        Assert.Equal([3L, 4L], batch.InputIds.shape);
        Assert.Equal(batch.InputIds.data<long>().ToArray(), batch.Labels!.data<long>().ToArray());
        Assert.Equal(12, batch.Tokens);
    }
}
