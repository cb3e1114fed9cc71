using System.Text.Json;

namespace FineTuneService.TestData;

/// <summary>Real, varied text for tokenizer parity and the tokenizer benchmark, from a package the build restores: the
/// distinct lines of Google.Protobuf's XML documentation (English prose, XML tags and entities, code, URLs, long
/// identifiers, indentation), then the hard Unicode cases committed in <c>tests/fixtures/minilm/hard_texts.jsonl</c>
/// (accents, CJK, Hangul, emoji with modifiers, zero-width and control characters, ligatures, titlecase, RTL scripts).</summary>
public static class PackageText
{
    public const int DocumentationLines = 3000;

    public static IReadOnlyList<string> Lines { get; } = Load();

    static List<string> Load()
    {
        var doc = Repository.PackageFile("Google.Protobuf", "3.30.2", "lib/net5.0/Google.Protobuf.xml");
        var lines = File.ReadLines(doc).Where(l => !string.IsNullOrWhiteSpace(l)).Distinct().Take(DocumentationLines).ToList();
        if (lines.Count < DocumentationLines) throw new InvalidDataException($"{doc} has only {lines.Count} distinct lines");
        lines.AddRange(File.ReadLines(Path.Combine(Repository.FixturesDir, "minilm", "hard_texts.jsonl"))
            .Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<string>(l)!));
        return lines;
    }
}
