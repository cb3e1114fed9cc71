using System.Text.Json.Nodes;

namespace FineTuneService.Benchmarks;

/// <summary>The MiniLM fixture (<c>../shared/fixtures/bert-minilm-l6-h384-uncased</c>, or <c>FTS_FIXTURES</c>) and its
/// real text: the 3,014 lines of <c>tokenizer_reference.jsonl</c>.</summary>
public sealed class Fixture
{
    public const string Name = "bert-minilm-l6-h384-uncased";

    private Fixture(string dir, IReadOnlyList<string> texts)
    {
        Dir = dir;
        Texts = texts;
    }

    public string Dir { get; }

    public IReadOnlyList<string> Texts { get; }

    public static Fixture Find()
    {
        var root = Environment.GetEnvironmentVariable("FTS_FIXTURES") is { Length: > 0 } env ? env : FromRepository();
        var dir = Path.Combine(root, Name);
        if (!File.Exists(Path.Combine(dir, "model.safetensors")))
        {
            throw new DirectoryNotFoundException($"the MiniLM fixture is not at {dir}; set FTS_FIXTURES to the folder that holds {Name}");
        }
        var texts = File.ReadLines(Path.Combine(dir, "tokenizer_reference.jsonl"))
            .Select(line => JsonNode.Parse(line)!["text"]!.GetValue<string>())
            .ToArray();
        return new Fixture(dir, texts);
    }

    /// <summary>The folder that holds <c>FineTuneService.sln</c>, walking up from the binaries, then <c>../shared/fixtures</c>.</summary>
    private static string FromRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FineTuneService.sln")))
            {
                return Path.Combine(dir.FullName, "..", "shared", "fixtures");
            }
        }
        throw new DirectoryNotFoundException("FineTuneService.sln not found above " + AppContext.BaseDirectory);
    }
}
