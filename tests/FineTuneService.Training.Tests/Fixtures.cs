namespace FineTuneService.Training.Tests;

/// <summary>Locates the shared test fixtures: <c>$FTS_FIXTURES</c>, or <c>../shared/fixtures</c> beside the folder
/// that holds FineTuneService.sln. Under CI a missing fixture fails the test instead of skipping it.</summary>
public static class Fixtures
{
    public static string Root { get; } = FindRoot();

    /// <summary>The real MiniLM-L6 BERT checkpoint in Hugging Face layout.</summary>
    public static string MiniLm => Path.Combine(Root, "bert-minilm-l6-h384-uncased");

    /// <summary>A committed <c>tests/fixtures/hf-tiny-random/&lt;architecture&gt;</c> folder (tiny random weights with
    /// Hugging Face transformers' outputs).</summary>
    public static string TinyRandom(string architecture) => Path.Combine(Repository, "tests", "fixtures", "hf-tiny-random", architecture);

    public static string Repository { get; } = FindRepository();

    static string FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FineTuneService.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("FineTuneService.sln not found above the test binaries.");
    }

    private static string FindRoot()
    {
        var fromEnv = Environment.GetEnvironmentVariable("FTS_FIXTURES");
        if (!string.IsNullOrEmpty(fromEnv))
            return fromEnv;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FineTuneService.sln")))
            {
                var root = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "fixtures"));
                if (!Directory.Exists(root))
                    throw new DirectoryNotFoundException($"Test fixtures not found at {root}; set FTS_FIXTURES.");
                return root;
            }
        }
        throw new DirectoryNotFoundException("FineTuneService.sln not found above the test binaries; set FTS_FIXTURES.");
    }
}
