using FineTuneService.Training.Models;
using FineTuneService.Training.Onnx;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuneService.Training.Inference;

/// <summary>ONNX Runtime on the graph <see cref="OnnxExport"/> built, with torch's thread count.</summary>
sealed class OnnxForward : IForward
{
    static readonly string[] EncoderInputs = ["input_ids", "attention_mask", "token_type_ids"];
    /// <summary>RoBERTa's and DistilBERT's graphs have no token types.</summary>
    static readonly string[] UntypedEncoderInputs = ["input_ids", "attention_mask"];
    static readonly string[] LogitsOutput = ["logits"];

    readonly InferenceSession session;
    readonly RunOptions run = new();
    readonly int layers, heads, headDim;
    readonly bool tokenTypes;

    OnnxForward(InferenceSession session)
    {
        this.session = session;
        tokenTypes = session.InputMetadata.ContainsKey("token_type_ids");
        var pastKey = session.InputMetadata.GetValueOrDefault(Gpt2Onnx.PastKey(0));
        if (pastKey is not null)
        {
            layers = session.InputMetadata.Keys.Count(k => k.EndsWith(".key", StringComparison.Ordinal));
            heads = pastKey.Dimensions[1];
            headDim = pastKey.Dimensions[3];
        }
    }

    public InferenceEngine Engine => InferenceEngine.OnnxRuntime;

    public static OnnxForward Open(string path, Device device)
    {
        using var options = OnnxSessions.Options(get_num_threads(), device);
        return new OnnxForward(new InferenceSession(path, options));
    }

    /// <summary>Logits of a padded batch; a decoder's graph runs it with an empty past.</summary>
    public Tensor Logits(PaddedRows batch)
    {
        long[] shape = [batch.Rows, batch.Columns];
        using var ids = OrtValue.CreateTensorValueFromMemory(batch.InputIds, shape);
        using var mask = OrtValue.CreateTensorValueFromMemory(batch.AttentionMask, shape);
        if (layers > 0)
        {
            var past = EmptyPast(batch.Rows);
            try
            {
                using var decoded = session.Run(run, DecoderInputs(), [ids, mask, .. past], LogitsOutput);
                return ToTorch(decoded[0]);
            }
            finally
            {
                foreach (var value in past)
                {
                    value.Dispose();
                }
            }
        }
        if (!tokenTypes)
        {
            using var untyped = session.Run(run, UntypedEncoderInputs, [ids, mask], LogitsOutput);
            return ToTorch(untyped[0]);
        }
        using var types = OrtValue.CreateTensorValueFromMemory(batch.TokenTypeIds, shape);
        using var outputs = session.Run(run, EncoderInputs, [ids, mask, types], LogitsOutput);
        return ToTorch(outputs[0]);
    }

    string[] DecoderInputs() => ["input_ids", "attention_mask",
        .. Enumerable.Range(0, layers).SelectMany(i => new[] { Gpt2Onnx.PastKey(i), Gpt2Onnx.PastValue(i) })];

    /// <summary>Past keys and values of length 0, one pair per layer.</summary>
    OrtValue[] EmptyPast(int rows) => Enumerable.Range(0, 2 * layers)
        .Select(_ => OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [rows, heads, 0, headDim])).ToArray();

    static Tensor ToTorch(OrtValue value) =>
        tensor(value.GetTensorDataAsSpan<float>().ToArray(), value.GetTensorTypeAndShape().Shape);

    public IDecoder Decoder() => new OnnxDecoder(this);

    public void Dispose()
    {
        run.Dispose();
        session.Dispose();
    }

    sealed class OnnxDecoder(OnnxForward owner) : IDecoder
    {
        readonly string[] inputNames = owner.DecoderInputs();
        readonly string[] outputNames = ["logits",
            .. Enumerable.Range(0, owner.layers).SelectMany(i => new[] { Gpt2Onnx.PresentKey(i), Gpt2Onnx.PresentValue(i) })];
        OrtValue[]? cache;

        public int Length { get; private set; }

        public Tensor Next(long[] ids)
        {
            var past = cache ?? owner.EmptyPast(1);
            int total = Length + ids.Length;
            using var input = OrtValue.CreateTensorValueFromMemory(ids, [1, ids.Length]);
            using var mask = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, total).ToArray(), [1, total]);
            var outputs = owner.session.Run(owner.run, inputNames, [input, mask, .. past], outputNames);
            foreach (var value in past)
            {
                value.Dispose();
            }
            // The presents become the next call's past; the collection is not disposed, its values are, one by one.
            cache = outputs.Skip(1).ToArray();
            Length = total;
            using var logits = outputs[0];
            var vocab = (int)logits.GetTensorTypeAndShape().Shape[^1];
            return tensor(logits.GetTensorDataAsSpan<float>()[^vocab..].ToArray());
        }

        public void Reset()
        {
            foreach (var value in cache ?? [])
            {
                value.Dispose();
            }
            cache = null;
            Length = 0;
        }

        public void Dispose() => Reset();
    }
}
