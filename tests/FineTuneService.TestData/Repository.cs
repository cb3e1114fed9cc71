using System.Reflection;

namespace FineTuneService.TestData;

/// <summary>Where the clone and the restored packages are, found from the binaries.</summary>
public static class Repository
{
    /// <summary>The folder that holds FineTuneService.sln, walking up from the running binaries.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The small fixtures committed under <c>tests/fixtures</c>.</summary>
    public static string FixturesDir => Path.Combine(Root, "tests", "fixtures");

    /// <summary>One of the tiny random-weight architectures of <c>tests/fixtures/hf-tiny-random</c> (bert, roberta, gpt2, …).</summary>
    public static string TinyRandom(string architecture) => Path.Combine(FixturesDir, "hf-tiny-random", architecture);

    /// <summary>The NuGet package folder this build restored into (<c>~/.nuget/packages/</c> by default), or
    /// <c>NUGET_PACKAGES</c> where the binaries run elsewhere (the GPU kit).</summary>
    public static string NuGetPackageRoot { get; } = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages
        ? packages
        : typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "NuGetPackageRoot").Value!;

    /// <summary>A file inside a restored package, e.g. <c>("google.protobuf", "3.30.2", "lib/net5.0/Google.Protobuf.xml")</c>.</summary>
    public static string PackageFile(string id, string version, string relativePath)
    {
        var path = Path.Combine(NuGetPackageRoot, id.ToLowerInvariant(), version, relativePath);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: restore the solution (dotnet restore FineTuneService.sln)");
    }

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FineTuneService.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("FineTuneService.sln not found above " + AppContext.BaseDirectory);
    }
}
