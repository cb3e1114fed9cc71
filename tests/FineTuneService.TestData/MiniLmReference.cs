using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using HuggingFaceTokenizer = Tokenizers.DotNet.Tokenizer;

namespace FineTuneService.TestData;

/// <summary>Third-party ground truth for the MiniLM checkpoint: ids from Hugging Face <c>tokenizers</c> (Rust) on its
/// tokenizer.json, and the outputs of ONNX Runtime running the package's original ONNX export (fp32, CPU).</summary>
public sealed class MiniLmReference : IDisposable
{
    readonly InferenceSession session;
    readonly HuggingFaceTokenizer tokenizer;

    public MiniLmReference()
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC, IntraOpNumThreads = 1 };
        session = new InferenceSession(MiniLm.OnnxPath, options);
        tokenizer = new HuggingFaceTokenizer(vocabPath: Path.Combine(MiniLm.Folder, "tokenizer.json"));
    }

    public sealed record Case(string Text, string? TextPair, long[] InputIds, long[] TokenTypeIds, float[] LastHiddenState, float[] PoolerOutput);

    /// <summary>The committed parity inputs (tests/fixtures/minilm/parity_inputs.json: single texts and pairs, accents,
    /// CJK, emoji, punctuation runs, long words, literal special tokens), each tokenized and run by the references.</summary>
    public IReadOnlyList<Case> ParityCases() =>
        System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Repository.FixturesDir, "minilm", "parity_inputs.json")))!
            .AsArray().Select(c => Run(c!["text"]!.GetValue<string>(), c["text_pair"]?.GetValue<string>())).ToList();

    /// <summary>Hugging Face ids of a text: <c>[CLS] text [SEP]</c>.</summary>
    public long[] Encode(string text) => tokenizer.Encode(text).Select(id => (long)id).ToArray();

    /// <summary>Ids and type ids of a text or pair as the tokenizer.json template makes them (<c>[CLS] A [SEP] B [SEP]</c>,
    /// B typed 1), from the library's own encodings of each side, then both outputs of the model for them.</summary>
    public Case Run(string text, string? textPair = null)
    {
        var ids = Encode(text);
        var types = new long[ids.Length];
        if (textPair is not null)
        {
            var second = Encode(textPair)[1..];
            ids = [.. ids, .. second];
            types = [.. types, .. Enumerable.Repeat(1L, second.Length)];
        }
        var shape = new[] { 1, ids.Length };
        using var outputs = session.Run(
        [
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, shape)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(Enumerable.Repeat(1L, ids.Length).ToArray(), shape)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(types, shape)),
        ]);
        return new Case(text, textPair, ids, types, outputs[0].AsEnumerable<float>().ToArray(), outputs[1].AsEnumerable<float>().ToArray());
    }

    public void Dispose()
    {
        session.Dispose();
        tokenizer.Dispose();
    }
}
