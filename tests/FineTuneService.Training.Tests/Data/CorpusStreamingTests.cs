using System.IO.Compression;
using System.Text;
using FineTuneService.Training.Data;

namespace FineTuneService.Training.Tests.Data;

/// <summary>Runs alone, so other tests' allocations don't move the process's RSS while it measures.</summary>
[CollectionDefinition(nameof(RssMeasured), DisableParallelization = true)]
public sealed class RssMeasured;

[Collection(nameof(RssMeasured))]
public sealed class CorpusStreamingTests : IDisposable
{
    readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("corpus-rss-");

    public void Dispose() => dir.Delete(recursive: true);

    // A gzip corpus of about `megabytes` MB of text, documents of 1-12 lines drawn from a fixed pool of sentences.
    string Generate(string name, int megabytes)
    {
        var rng = new Random(7);
        var words = Enumerable.Range(0, 3000).Select(i => new string((char)('a' + i % 26), 1 + i % 9) + i).ToArray();
        var sentences = Enumerable.Range(0, 1000)
            .Select(_ => string.Join(' ', Enumerable.Range(0, rng.Next(5, 25)).Select(_ => words[rng.Next(words.Length)])) + ".")
            .ToArray();
        var path = Path.Combine(dir.FullName, name);
        using var writer = new StreamWriter(new GZipStream(File.Create(path), CompressionLevel.Fastest), Encoding.UTF8);
        long written = 0;
        while (written < megabytes << 20)
        {
            for (var line = rng.Next(1, 13); line > 0; line--)
            {
                var sentence = sentences[rng.Next(sentences.Length)];
                writer.WriteLine(sentence);
                written += sentence.Length + 1;
            }
            writer.WriteLine();
            written++;
        }
        return path;
    }

    // Reads the corpus twice (inspection, then documents); returns the peak working set seen and the text's size.
    static (long Peak, long Bytes) ReadThrough(string path)
    {
        var peak = Environment.WorkingSet;
        var stats = CorpusReader.Inspect(path, "txt");
        long documents = 0;
        foreach (var document in CorpusReader.ReadDocuments(path, "txt"))
        {
            Assert.NotEmpty(document.Lines);
            if (++documents % 5000 == 0)
                peak = Math.Max(peak, Environment.WorkingSet);
        }
        Assert.Equal(stats.Documents, documents);
        return (Math.Max(peak, Environment.WorkingSet), stats.Bytes);
    }

    [Fact]
    public void WorkingSetDoesNotGrowWithCorpusSize()
    {
        var small = Generate("small.txt.gz", 4);
        var large = Generate("large.txt.gz", 96);

        var (smallPeak, _) = ReadThrough(small);
        var (largePeak, largeBytes) = ReadThrough(large);

        Assert.True(largeBytes > 96L << 20);
        Assert.True(largePeak - smallPeak < 32L << 20,
            $"Reading 96 MB of text raised the peak working set by {(largePeak - smallPeak) >> 20} MB over reading 4 MB.");
    }
}
