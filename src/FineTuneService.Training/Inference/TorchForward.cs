using FineTuneService.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuneService.Training.Inference;

/// <summary>The TorchSharp forward on the model's device (in bfloat16 on CUDA), under inference mode.</summary>
sealed class TorchForward(ITaskModel model, Device device) : IForward
{
    public InferenceEngine Engine => InferenceEngine.Torch;

    public Tensor Logits(PaddedRows batch)
    {
        long[] shape = [batch.Rows, batch.Columns];
        using var ids = tensor(batch.InputIds, shape, device: device);
        using var mask = tensor(batch.AttentionMask, shape, device: device);
        using var types = tensor(batch.TokenTypeIds, shape, device: device);
        return model.Forward(new Batch(ids, mask, types)).Logits.to(ScalarType.Float32);
    }

    public IDecoder Decoder() => new TorchDecoder((ICausalLM)model, device);

    public void Dispose() => model.Module.Dispose();

    /// <summary>Keeps the keys and values of every fed position in a <see cref="KvCache"/>.</summary>
    sealed class TorchDecoder(ICausalLM model, Device device) : IDecoder
    {
        KvCache cache = new();

        public int Length => (int)cache.Length;

        public Tensor Next(long[] ids)
        {
            using var scope = NewDisposeScope();
            var past = cache.Length;
            using var input = tensor(ids, [1, ids.Length], device: device);
            var positions = arange(past, past + ids.Length, dtype: ScalarType.Int64, device: device).unsqueeze(0);
            var mask = ones(1, past + ids.Length, dtype: ScalarType.Int64, device: device);
            return model.Step(input, mask, positions, cache)[0, -1].to(ScalarType.Float32).cpu().MoveToOuterDisposeScope();
        }

        public void Reset()
        {
            cache.Dispose();
            cache = new KvCache();
        }

        public void Dispose() => cache.Dispose();
    }
}
