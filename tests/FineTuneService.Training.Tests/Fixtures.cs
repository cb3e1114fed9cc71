namespace FineTuneService.Training.Tests;

/// <summary>Finds the shared test fixtures: <c>$FTS_FIXTURES</c>, else <c>../shared/fixtures</c> next to the
/// folder that holds FineTuneService.sln. A missing fixture fails the test (never a skip).</summary>
public static class Fixtures
{
    public static string MiniLm => Folder("bert-minilm-l6-h384-uncased");

    public static string Folder(string name)
    {
        var root = Environment.GetEnvironmentVariable("FTS_FIXTURES") ?? Path.Combine(RepositoryRoot(), "..", "shared", "fixtures");
        var dir = Path.GetFullPath(Path.Combine(root, name));
        return Directory.Exists(dir)
            ? dir
            : throw new DirectoryNotFoundException($"Test fixture '{name}' not found at {dir} (set FTS_FIXTURES to the fixtures folder)");
    }

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FineTuneService.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException($"No FineTuneService.sln above {AppContext.BaseDirectory}");
    }
}
