using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace FineTuneService.Api.Tests;

/// <summary>The OpenAPI document is complete enough for a real generator: Kiota (the repository's dotnet tool) makes a
/// C# client from <c>/swagger/v1/swagger.json</c>, Roslyn compiles it with <c>GeneratedClient/Journey.cs</c>, and the
/// journey runs through that client alone against the Api and a worker process.</summary>
public class GeneratedClientTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task Kiota_client_from_the_openapi_document_uploads_imports_trains_polls_metrics_and_predicts()
    {
        var http = factory.CreateClient();
        var work = Directory.CreateDirectory(Path.Combine(factory.StorageRoot, "kiota")).FullName;
        var document = Path.Combine(work, "swagger.json");
        await File.WriteAllTextAsync(document, await http.GetStringAsync("/swagger/v1/swagger.json"));

        var output = Path.Combine(work, "client");
        Run("tool restore");
        Run($"kiota generate --language CSharp --openapi {document} --output {output} --class-name FineTuneClient " +
            "--namespace-name FineTune.Client --exclude-backward-compatible --log-level Warning");
        var journey = Compile([.. Directory.GetFiles(output, "*.cs", SearchOption.AllDirectories),
            Path.Combine(AppContext.BaseDirectory, "GeneratedClient", "Journey.cs")]);

        var zip = Path.Combine(work, "tiny-bert.zip");
        ZipFile.CreateFromDirectory(TestData.TinyModel, zip);
        using var worker = factory.StartWorker();
        var run = journey.GetType("FineTune.Journey.Journey")!.GetMethod("RunAsync")!;
        var seen = await (Task<IReadOnlyDictionary<string, string>>)run.Invoke(null,
            [http, TestData.SentimentCsv(48, seed: 1), TestData.SentimentCsv(16, seed: 2), await File.ReadAllBytesAsync(zip)])!;

        string Seen(string key) => seen.TryGetValue(key, out var value) ? value : $"(no {key}: {string.Join("; ", seen)}\n{worker.Log})";
        Assert.Equal("48", Seen("train_rows"));
        Assert.Equal("text,label", Seen("columns"));
        Assert.Equal("BertForMaskedLM", Seen("base_architecture"));
        Assert.Equal("Validation_failed", Seen("bad_spec_code"));
        Assert.Contains("hyperparameters.learning_rate", Seen("bad_spec_field"));
        Assert.Equal("Queued", Seen("queued_status"));
        Assert.Equal("Succeeded", Seen("status"));
        Assert.Equal("2,4,6,8,10,12", Seen("loss_steps"));
        Assert.Equal("2", Seen("eval_accuracy_points"));
        Assert.Equal("Sequence_classification", Seen("kind"));
        Assert.All(Seen("labels").Split(','), label => Assert.Contains(label, new[] { "pos", "neg" }));
        Assert.Equal("2,2", Seen("scores"));
    }

    static void Run(string arguments)
    {
        var start = new ProcessStartInfo("dotnet", arguments)
        {
            WorkingDirectory = RepoPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        start.Environment["KIOTA_TUTORIAL_ENABLED"] = "false";
        start.Environment["KIOTA_UPDATE_DISABLED"] = "true";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"dotnet {arguments} failed ({process.ExitCode}):\n{stdout.Result}\n{stderr}");
    }

    /// <summary>Compiles the generated client and the journey against this process's assemblies (the framework, Kiota's runtime).</summary>
    static System.Reflection.Assembly Compile(IEnumerable<string> files)
    {
        var options = new CSharpParseOptions(LanguageVersion.Latest, preprocessorSymbols: ["NETCOREAPP3_1_OR_GREATER", "NET5_0_OR_GREATER"]);
        var usings = CSharpSyntaxTree.ParseText(string.Join("\n", new[] { "System", "System.Collections.Generic", "System.IO", "System.Linq",
            "System.Net.Http", "System.Threading", "System.Threading.Tasks" }.Select(n => $"global using {n};")), options);
        var trees = files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), options, path: f)).Append(usings);
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(path => MetadataReference.CreateFromFile(path));
        var compilation = CSharpCompilation.Create("FineTune.GeneratedClient", trees, references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(20)));
        image.Position = 0;
        return AssemblyLoadContext.Default.LoadFromStream(image);
    }
}
