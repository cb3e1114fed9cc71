using FineTuneService.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuneService.Training.Inference;

/// <summary>The TorchSharp forward on the model's device (in bfloat16 on CUDA), under inference mode.</summary>
internal sealed class TorchForward(ITaskModel model, Device device) : IForward
{
    public InferenceEngine Engine => InferenceEngine.Torch;

    public Tensor Logits(HostBatch batch)
    {
        long[] shape = [batch.Rows, batch.Columns];
        using var ids = tensor(batch.InputIds, shape, device: device);
        using var mask = tensor(batch.AttentionMask, shape, device: device);
        using var types = tensor(batch.TokenTypeIds, shape, device: device);
        return model.Forward(new Batch(ids, mask, types)).Logits.to(ScalarType.Float32);
    }

    public IDecoder Decoder() => new TorchDecoder((Gpt2LMHeadModel)model, device);

    public void Dispose() => model.Module.Dispose();

    /// <summary>Feeds the whole window at every step: it keeps no cache, so <see cref="Length"/> stays 0.</summary>
    sealed class TorchDecoder(Gpt2LMHeadModel model, Device device) : IDecoder
    {
        public int Length => 0;

        public Tensor Next(long[] ids)
        {
            using var scope = NewDisposeScope();
            using var input = tensor(ids, [1, ids.Length], device: device);
            return model.forward(input)[0, -1].to(ScalarType.Float32).cpu().MoveToOuterDisposeScope();
        }

        public void Reset()
        {
        }

        public void Dispose()
        {
        }
    }
}
