using FineTuneService.Training.Models;
using FineTuneService.Training.Onnx;
using FineTuneService.Training.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuneService.Training.Inference;

/// <summary>A Hugging Face model folder loaded for inference: predictions per task kind and tokenization.
/// Forwards run on one engine (<see cref="InferenceEngine"/>), in length-sorted chunks of at most
/// <see cref="MaxBatchTokens"/> padded tokens; whichever engine made the logits, they become answers here.</summary>
public sealed class LoadedModel : IDisposable
{
    readonly IForward? forward;
    readonly string[] labels;
    readonly int maxLength;
    readonly int? maskId;
    readonly TextGenerator? generator;

    LoadedModel(IForward? forward, ITokenizer tokenizer, ModelKind kind, string[] labels, int maxLength, Device device, IEnumerable<int> eosTokenIds)
    {
        this.forward = forward;
        Tokenizer = tokenizer;
        Kind = kind;
        this.labels = labels;
        this.maxLength = maxLength;
        Device = device;
        maskId = tokenizer.MaskId;
        if (kind == ModelKind.Clm)
        {
            generator = new TextGenerator(forward!, tokenizer, maxLength,
                new HashSet<int>([.. eosTokenIds, .. tokenizer is ByteLevelBpeTokenizer bpe ? [bpe.EosId] : Array.Empty<int>()]));
        }
    }

    public ITokenizer Tokenizer { get; }

    public ModelKind Kind { get; }

    /// <summary>The label names by class id (config.json <c>id2label</c>).</summary>
    public IReadOnlyList<string> Labels => labels;

    public Device Device { get; }

    /// <summary>The engine that runs this model's forward (a family without an ONNX graph runs on torch); null for a bare encoder.</summary>
    public InferenceEngine? Engine => forward?.Engine;

    /// <summary>Generation reuses the keys and values of earlier positions (true), or runs the whole context for every
    /// new token (false: the reference the cache is tested against).</summary>
    public bool KeyValueCache { get; set; } = true;

    /// <summary>Padded tokens (rows × longest row) per forward: bounds activation memory.</summary>
    public int MaxBatchTokens { get; set; } = 16384;

    /// <summary>How many pad tokens a row may carry to join a longer row's forward rather than start its own.
    /// A CPU forward costs about as much as 16 tokens of MiniLM compute, so joining a row padded by more loses;
    /// a GPU forward is so cheap per token that every row joins.</summary>
    public int PaddingTolerance { get; set; } = 16;

    /// <summary>Loads a model folder for <paramref name="engine"/>. ONNX Runtime runs the graph cached at
    /// <see cref="OnnxExport.PathIn"/>, built there from the weights on first load (or again when the exporter's version or the
    /// precision changed); int8 exists only there, so torch serves such a model from its fp32 weights.</summary>
    public static LoadedModel Load(string dir, Device? device = null, InferenceEngine engine = InferenceEngine.OnnxRuntime,
        OnnxPrecision precision = OnnxPrecision.Fp32)
    {
        device ??= TorchDevices.Auto();
        var config = ModelConfig.Load(Path.Combine(dir, "config.json"));
        var kind = TaskCatalogue.OfModel(config)?.Predicts ?? ModelKind.Encoder;
        var tokenizer = Tokenizers.LoadFromFolder(dir);
        var forward = kind == ModelKind.Encoder ? null : Forward(dir, device, engine, precision);
        var labels = Enumerable.Range(0, config.NumLabels)
            .Select(i => config.Id2Label is { } names && names.TryGetValue(i, out var name) ? name : $"LABEL_{i}")
            .ToArray();
        return new LoadedModel(forward, tokenizer, kind, labels, config.MaxPositions, device, config.EosTokenIds)
        {
            PaddingTolerance = device.type == DeviceType.CUDA ? int.MaxValue : 16,
        };
    }

    static IForward Forward(string dir, Device device, InferenceEngine engine, OnnxPrecision precision)
    {
        if (engine == InferenceEngine.OnnxRuntime && OnnxExport.Cached(dir, precision) is { } graph)
        {
            return OnnxForward.Open(graph, device);
        }
        var model = ModelFolder.Load(dir);
        model.Module.eval();
        model.Module.to(device);
        if (device.type == DeviceType.CUDA)
        {
            model.Module.to(ScalarType.BFloat16);
        }
        return new TorchForward(model, device);
    }

    /// <summary>Tokenizes inputs for <see cref="Predict(IReadOnlyList{EncodedInput}, PredictOptions, CancellationToken)"/>, truncated to the
    /// model's positions, and checks that each is one this model can take (<see cref="PredictInputException"/> names the one that is not).</summary>
    public EncodedInput[] Encode(IReadOnlyList<PredictInput> inputs) => InputChecks.Encode(Kind, Tokenizer, maxLength, inputs);

    public IReadOnlyList<Prediction> Predict(IReadOnlyList<PredictInput> inputs, PredictOptions options) =>
        Predict(Encode(inputs), options);

    /// <summary>The [MASK] tokens of an encoded input (0 for a model without a mask token).</summary>
    public int MaskCount(EncodedInput input) => maskId is { } mask ? input.Encoding.Ids.Count(id => id == mask) : 0;

    /// <summary>Predicts for inputs from <see cref="Encode"/>; results are in input order. Generation checks
    /// <paramref name="cancellationToken"/> before each new token, so a client that went away stops costing.</summary>
    public IReadOnlyList<Prediction> Predict(IReadOnlyList<EncodedInput> inputs, PredictOptions options, CancellationToken cancellationToken = default)
    {
        if (Kind == ModelKind.Clm)
        {
            return inputs.Select(e => generator!.Generate(e, options, KeyValueCache, cancellationToken)).ToArray();
        }
        var results = new Prediction[inputs.Count];
        using var inference = inference_mode();
        foreach (var chunk in LengthSortedChunks.Of(inputs.Select(e => e.Length).ToArray(), MaxBatchTokens, PaddingTolerance))
        {
            using var scope = NewDisposeScope();
            var rows = chunk.Select(i => inputs[i]).ToArray();
            var logits = forward!.Logits(PaddedRows.Pad(rows.Length, r => rows[r].Encoding.Ids, r => rows[r].Encoding.TypeIds, Tokenizer.PadId));
            var chunkResults = Kind switch
            {
                ModelKind.SequenceClassification => HeadOutputs.Classify(logits.softmax(-1), labels, multiLabel: false),
                ModelKind.MultiLabelClassification => HeadOutputs.Classify(logits.sigmoid(), labels, multiLabel: true),
                ModelKind.Regression => HeadOutputs.Regress(logits),
                ModelKind.TokenClassification => HeadOutputs.Entities(logits, rows, labels),
                ModelKind.Mlm => HeadOutputs.FillMasks(logits, rows, maskId!.Value, options.TopK ?? PredictOptions.DefaultMaskCandidates, Tokenizer),
                _ => throw new InvalidOperationException($"no predictions for {Kind}"),
            };
            for (int j = 0; j < chunk.Length; j++)
            {
                results[chunk[j]] = chunkResults[j];
            }
        }
        return results;
    }

    /// <summary>Ids, tokens, offsets and type ids per input; truncated only when <paramref name="maxLength"/> is given.</summary>
    public IReadOnlyList<Encoding> Tokenize(IReadOnlyList<PredictInput> inputs, int? maxLength = null,
        TruncationStrategy truncation = TruncationStrategy.LongestFirst, bool addSpecialTokens = true) =>
        inputs.Select(input => Tokenizer.Encode(input.Text, input.TextPair, maxLength, truncation, addSpecialTokens)).ToArray();

    public void Dispose() => forward?.Dispose();
}
