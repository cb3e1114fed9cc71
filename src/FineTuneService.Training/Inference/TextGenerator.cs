using FineTuneService.Training.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuneService.Training.Inference;

/// <summary>Greedy or sampled continuation of one prompt, stopping at end-of-text; the context slides to the
/// model's last <c>n_positions</c> tokens. With the key-value cache each new token feeds one position; once the
/// context slides, positions shift and the window is fed whole, as without it. Sampling draws from a generator
/// seeded per input, so a seed reproduces the text whatever else is batched with it.</summary>
sealed class TextGenerator(IForward forward, ITokenizer tokenizer, int maxLength, IReadOnlySet<int> eosIds)
{
    public Prediction.Generation Generate(EncodedInput prompt, PredictOptions options, bool keyValueCache, CancellationToken cancellationToken)
    {
        var ids = prompt.Encoding.Ids.Select(id => (long)id).ToList();
        using var generator = options.Sampling ? new Generator((ulong)(options.Seed ?? Random.Shared.NextInt64())) : null;
        var generated = new List<int>();
        using var decoder = forward.Decoder();
        using var inference = inference_mode();
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            long[] feed;
            if (keyValueCache && decoder.Length > 0 && ids.Count <= maxLength)
            {
                feed = [ids[^1]];
            }
            else
            {
                decoder.Reset();
                feed = ids.Skip(Math.Max(0, ids.Count - maxLength)).ToArray();
            }
            var last = decoder.Next(feed);
            long next = generator is null ? last.argmax().item<long>() : Sample(last, options, generator);
            if (eosIds.Contains((int)next))
            {
                break;
            }
            ids.Add(next);
            generated.Add((int)next);
        }
        return new Prediction.Generation(prompt.Input.Text + tokenizer.Decode(generated), generated.Count);
    }

    /// <summary>Hugging Face's sampling order: temperature, then top-k, then top-p (keeping at least one token).</summary>
    static long Sample(Tensor logits, PredictOptions options, Generator generator)
    {
        var scaled = logits / (options.Temperature ?? 1.0);
        if (options.TopK is { } k && k < scaled.shape[0])
        {
            var kth = scaled.topk(k).values[-1];
            scaled = scaled.masked_fill(scaled < kth, double.NegativeInfinity);
        }
        if (options.TopP is { } p && p < 1.0)
        {
            var (sorted, order) = scaled.sort(descending: true);
            var probabilities = sorted.softmax(-1);
            var dropSorted = probabilities.cumsum(-1) - probabilities >= p;
            scaled = scaled.masked_fill(dropSorted.scatter(0, order, dropSorted), double.NegativeInfinity);
        }
        return multinomial(scaled.softmax(-1), 1, generator: generator).item<long>();
    }
}
