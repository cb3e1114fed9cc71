namespace FineTuneService.Training.Tests.Tokenization;

/// <summary>A fresh folder under the system temp folder for one test.</summary>
static class TempDir
{
    public static string Create()
    {
        var dir = Path.Combine(Path.GetTempPath(), "fts-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
