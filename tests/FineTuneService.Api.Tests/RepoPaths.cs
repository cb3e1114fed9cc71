namespace FineTuneService.Api.Tests;

static class RepoPaths
{
    /// <summary>The folder that holds FineTuneService.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>A built host next to this test build: same configuration, e.g. src/FineTuneService.Worker/bin/Release/net10.0/.</summary>
    public static string HostDll(string project)
    {
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = framework.Parent!.Name;
        var dll = Path.Combine(Root, "src", project, "bin", configuration, framework.Name, project + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{project} is not built ({dll})");
    }

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FineTuneService.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("FineTuneService.sln not found above " + AppContext.BaseDirectory);
    }
}
