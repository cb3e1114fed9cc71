using FineTuneService.Training.Inference;
using FineTuneService.Training.Models;
using FineTuneService.Training.Onnx;
using FineTuneService.Training.Tokenization;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Onnx;

/// <summary>Generation through <see cref="LoadedModel"/> on a tiny GPT-2 (and a tiny Llama with grouped-query
/// attention) with a trained byte-level BPE tokenizer:
/// with the key-value cache and without it, on ONNX Runtime and on torch, greedy and seeded sampling, long enough
/// (40 new tokens, 32 positions) for the context to slide.</summary>
public sealed class GenerationTests : IDisposable
{
    static readonly string[] Corpus =
    [
        "the cat sat on the mat.", "a dog ran in the park", "alice met bob in paris, the park is nice!",
        "the dogs ran in the park. the cat sat.", "the movie is good, the movie is bad, the movie is nice.",
    ];

    readonly string dir = Directory.CreateTempSubdirectory("fts-gen-").FullName;
    readonly string llamaDir = Directory.CreateTempSubdirectory("fts-gen-llama-").FullName;

    public GenerationTests()
    {
        var tokenizer = BpeTrainer.Train(Corpus, vocabSize: 300, minFrequency: 1);
        var config = new Gpt2Config
        {
            Architectures = ["GPT2LMHeadModel"], VocabSize = tokenizer.VocabSize, NEmbd = 32, NLayer = 2, NHead = 2, NPositions = 32,
            BosTokenId = tokenizer.EosId, EosTokenId = tokenizer.EosId, InitializerRange = 0.3,
        };
        using var model = ModelFolder.Create("GPT2LMHeadModel", config, seed: 7).Module;
        ModelFolder.Export((ITaskModel)model, dir, tokenizer);
        var llama = new LlamaConfig
        {
            Architectures = ["LlamaForCausalLM"], HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4,
            NumKeyValueHeads = 2, MaxPositionEmbeddings = 32, InitializerRange = 0.3,
        }.SizedFor(tokenizer.VocabSize, tokenizer.PadId, tokenizer.EosId);
        using var llamaModel = ModelFolder.Create("LlamaForCausalLM", llama, seed: 7).Module;
        ModelFolder.Export((ITaskModel)llamaModel, llamaDir, tokenizer);
    }

    public void Dispose()
    {
        Directory.Delete(dir, recursive: true);
        Directory.Delete(llamaDir, recursive: true);
    }

    static string Generate(LoadedModel model, PredictOptions options) =>
        ((Prediction.Generation)model.Predict([new PredictInput("the cat sat")], options)[0]).GeneratedText;

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Cached_and_uncached_generation_give_the_same_tokens_on_both_engines(string family)
    {
        var folder = family == "gpt2" ? dir : llamaDir;
        var greedy = new PredictOptions(MaxNewTokens: 40, DoSample: false);
        var sampled = new PredictOptions(MaxNewTokens: 40, Temperature: 1.3, TopK: 50, TopP: 0.95, Seed: 11);
        using var onnx = LoadedModel.Load(folder, CPU, InferenceEngine.OnnxRuntime);
        using var torchModel = LoadedModel.Load(folder, CPU, InferenceEngine.Torch);
        Assert.Equal(InferenceEngine.OnnxRuntime, onnx.Engine);
        Assert.Equal(InferenceEngine.Torch, torchModel.Engine);
        Assert.True(File.Exists(OnnxExport.PathIn(folder)), "the graph is cached beside the model");

        var cachedGreedy = Generate(onnx, greedy);
        var cachedSample = Generate(onnx, sampled);
        foreach (var (model, cache) in new[] { (onnx, false), (torchModel, true), (torchModel, false) })
        {
            model.KeyValueCache = cache;
            Assert.Equal(cachedGreedy, Generate(model, greedy));
            Assert.Equal(cachedSample, Generate(model, sampled));
        }
        Assert.True(cachedGreedy.Length > "the cat sat".Length + 20, $"a long continuation: '{cachedGreedy}'");
        Assert.NotEqual(cachedGreedy, cachedSample);
    }

    [Fact]
    public void Generation_stops_at_the_next_token_once_its_request_is_cancelled()
    {
        using var model = LoadedModel.Load(dir, CPU, InferenceEngine.Torch);
        var prompt = model.Encode([new PredictInput("the cat sat")]);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => model.Predict(prompt, new PredictOptions(MaxNewTokens: 40, DoSample: false), cancelled.Token));
        Assert.InRange(((Prediction.Generation)model.Predict(prompt, new PredictOptions(MaxNewTokens: 40, DoSample: false), CancellationToken.None)[0]).NewTokens, 1, 40);
    }
}
