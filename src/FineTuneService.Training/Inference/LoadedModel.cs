using System.Text.Json.Nodes;
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
    readonly HashSet<int> eosIds;

    LoadedModel(IForward? forward, ITokenizer tokenizer, ModelKind kind, string[] labels, int maxLength, Device device, IEnumerable<int> eosTokenIds)
    {
        this.forward = forward;
        Tokenizer = tokenizer;
        Kind = kind;
        this.labels = labels;
        this.maxLength = maxLength;
        Device = device;
        maskId = tokenizer.MaskId;
        eosIds = [.. eosTokenIds, .. tokenizer is ByteLevelBpeTokenizer bpe ? [bpe.EosId] : Array.Empty<int>()];
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
        var kind = KindOf(config);
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

    static ModelKind KindOf(ModelConfig config) => ModelCatalogue.Head(config.Architectures?.FirstOrDefault())?.Task switch
    {
        ModelTask.SequenceClassification when config.ProblemType == ModelConfig.Regression
            || (config.ProblemType is null && config.NumLabels == 1) => ModelKind.Regression,
        ModelTask.SequenceClassification when config.ProblemType == ModelConfig.MultiLabel => ModelKind.MultiLabelClassification,
        ModelTask.SequenceClassification => ModelKind.SequenceClassification,
        ModelTask.TokenClassification => ModelKind.TokenClassification,
        ModelTask.MaskedLM or ModelTask.PreTraining => ModelKind.Mlm,
        ModelTask.CausalLM => ModelKind.Clm,
        _ => ModelKind.Encoder,
    };

    /// <summary>Tokenizes inputs for <see cref="Predict(IReadOnlyList{EncodedInput}, PredictOptions)"/>, truncated to the
    /// model's positions, and checks that each is one this model can take; errors name <c>inputs[i]</c>.</summary>
    public EncodedInput[] Encode(IReadOnlyList<PredictInput> inputs)
    {
        if (Kind == ModelKind.Encoder)
        {
            throw new PredictInputException("model", "this model is a bare encoder with no task head; fine-tune it to predict (tokenize works)");
        }
        var encoded = new EncodedInput[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            if (Kind == ModelKind.Clm)
            {
                if (input.TextPair is not null)
                {
                    throw new PredictInputException($"inputs[{i}].text_pair", "a causal language model takes a single prompt");
                }
                encoded[i] = new EncodedInput(input, Tokenizer.Encode(input.Text));
                if (encoded[i].Length == 0)
                {
                    throw new PredictInputException($"inputs[{i}]", "the prompt is empty");
                }
                continue;
            }
            encoded[i] = new EncodedInput(input, Tokenizer.Encode(input.Text, input.TextPair, maxLength));
            if (Kind == ModelKind.Mlm && (maskId is not { } mask || !encoded[i].Encoding.Ids.Contains(mask)))
            {
                throw new PredictInputException($"inputs[{i}]", maskId is null ? "the model's tokenizer has no mask token" : "has no [MASK] token to fill");
            }
        }
        return encoded;
    }

    public IReadOnlyList<JsonObject> Predict(IReadOnlyList<PredictInput> inputs, PredictOptions options) =>
        Predict(Encode(inputs), options);

    /// <summary>The [MASK] tokens of an encoded input (0 for a model without a mask token).</summary>
    public int MaskCount(EncodedInput input) => maskId is { } mask ? input.Encoding.Ids.Count(id => id == mask) : 0;

    /// <summary>Predicts for inputs from <see cref="Encode"/>; results are in input order. Generation checks
    /// <paramref name="cancellationToken"/> before each new token, so a client that went away stops costing.</summary>
    public IReadOnlyList<JsonObject> Predict(IReadOnlyList<EncodedInput> inputs, PredictOptions options, CancellationToken cancellationToken = default)
    {
        if (Kind == ModelKind.Clm)
        {
            return inputs.Select(e => Generate(e, options, cancellationToken)).ToArray();
        }
        var results = new JsonObject[inputs.Count];
        using var inference = inference_mode();
        foreach (var chunk in LengthSortedChunks(inputs.Select(e => e.Length).ToArray(), MaxBatchTokens, PaddingTolerance))
        {
            using var scope = NewDisposeScope();
            var rows = chunk.Select(i => inputs[i]).ToArray();
            var logits = forward!.Logits(Collate(rows));
            var chunkResults = Kind switch
            {
                ModelKind.SequenceClassification => Classify(logits.softmax(-1), multiLabel: false),
                ModelKind.MultiLabelClassification => Classify(logits.sigmoid(), multiLabel: true),
                ModelKind.Regression => Regress(logits),
                ModelKind.TokenClassification => Entities(logits, rows),
                ModelKind.Mlm => FillMasks(logits, rows, options.TopK ?? PredictOptions.DefaultMaskCandidates),
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
    public IReadOnlyList<JsonObject> Tokenize(IReadOnlyList<PredictInput> inputs, int? maxLength = null,
        TruncationStrategy truncation = TruncationStrategy.LongestFirst, bool addSpecialTokens = true) =>
        inputs.Select(input =>
        {
            var e = Tokenizer.Encode(input.Text, input.TextPair, maxLength, truncation, addSpecialTokens);
            return new JsonObject
            {
                ["ids"] = new JsonArray(e.Ids.Select(id => (JsonNode)id).ToArray()),
                ["tokens"] = new JsonArray(e.Tokens.Select(t => (JsonNode)t).ToArray()),
                ["offsets"] = new JsonArray(e.Offsets.Select(o => (JsonNode)new JsonArray(o.Start, o.End)).ToArray()),
                ["type_ids"] = new JsonArray(e.TypeIds.Select(t => (JsonNode)t).ToArray()),
            };
        }).ToArray();

    /// <summary>Indices grouped longest first into chunks whose padded size (rows × longest) stays within the budget
    /// and whose rows are at most <paramref name="paddingTolerance"/> tokens shorter than the chunk's longest.</summary>
    internal static IEnumerable<int[]> LengthSortedChunks(IReadOnlyList<int> lengths, int maxBatchTokens, int paddingTolerance)
    {
        var order = Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]).ToArray();
        var chunk = new List<int>();
        foreach (var i in order)
        {
            if (chunk.Count > 0)
            {
                int longest = lengths[chunk[0]];
                if ((chunk.Count + 1) * longest > maxBatchTokens || longest - lengths[i] > paddingTolerance)
                {
                    yield return chunk.ToArray();
                    chunk.Clear();
                }
            }
            chunk.Add(i);
        }
        if (chunk.Count > 0)
        {
            yield return chunk.ToArray();
        }
    }

    HostBatch Collate(IReadOnlyList<EncodedInput> rows)
    {
        int longest = rows.Max(e => e.Length);
        var ids = new long[rows.Count * longest];
        var mask = new long[ids.Length];
        var types = new long[ids.Length];
        Array.Fill(ids, Tokenizer.PadId);
        for (int r = 0; r < rows.Count; r++)
        {
            var e = rows[r].Encoding;
            for (int t = 0; t < e.Length; t++)
            {
                ids[r * longest + t] = e.Ids[t];
                mask[r * longest + t] = 1;
                types[r * longest + t] = e.TypeIds[t];
            }
        }
        return new HostBatch(ids, mask, types, rows.Count, longest);
    }

    JsonObject[] Classify(Tensor probabilities, bool multiLabel)
    {
        int classes = (int)probabilities.shape[1];
        var values = probabilities.cpu().data<float>().ToArray();
        return Enumerable.Range(0, (int)probabilities.shape[0]).Select(r =>
        {
            var row = values.AsSpan(r * classes, classes);
            int best = 0;
            var scores = new JsonObject();
            for (int c = 0; c < classes; c++)
            {
                scores[labels[c]] = row[c];
                if (row[c] > row[best])
                {
                    best = c;
                }
            }
            var result = new JsonObject { ["label"] = labels[best], ["score"] = row[best], ["scores"] = scores };
            if (multiLabel)
            {
                var chosen = new JsonArray();
                for (int c = 0; c < classes; c++)
                {
                    if (row[c] >= 0.5f)
                    {
                        chosen.Add(labels[c]);
                    }
                }
                result["labels"] = chosen;
            }
            return result;
        }).ToArray();
    }

    static JsonObject[] Regress(Tensor logits) =>
        logits.reshape(-1).cpu().data<float>().ToArray().Select(v => new JsonObject { ["value"] = v }).ToArray();

    JsonObject[] Entities(Tensor logits, IReadOnlyList<EncodedInput> rows)
    {
        var (best, index) = logits.softmax(-1).max(-1);
        int width = (int)best.shape[1];
        var scores = best.cpu().data<float>().ToArray();
        var classes = index.cpu().data<long>().ToArray();
        return rows.Select((row, r) => new JsonObject
        {
            ["entities"] = GroupEntities(row,
                Enumerable.Range(0, row.Length).Select(t => labels[classes[r * width + t]]).ToArray(),
                scores.AsSpan(r * width, row.Length).ToArray()),
        }).ToArray();
    }

    /// <summary>IOB2 entities from each word's first sub-token (the one labelled in training): B-X opens an entity,
    /// I-X continues one of the same type (and opens one otherwise), anything else closes it. Spans are character
    /// offsets into the first text, covering whole words; the score is the mean over the entity's words.</summary>
    internal static JsonArray GroupEntities(EncodedInput row, IReadOnlyList<string> tokenLabels, IReadOnlyList<float> tokenScores)
    {
        var e = row.Encoding;
        var entities = new JsonArray();
        OpenEntity? open = null;
        void Close()
        {
            if (open is not null)
            {
                entities.Add(new JsonObject
                {
                    ["entity"] = open.Type,
                    ["text"] = row.Input.Text[open.Start..open.End],
                    ["start"] = open.Start,
                    ["end"] = open.End,
                    ["score"] = (double)open.Scores.Average(),
                });
                open = null;
            }
        }
        for (int t = 0; t < e.Length; t++)
        {
            if (e.WordIds[t] is not { } word || e.TypeIds[t] != 0)
            {
                continue;
            }
            if (t > 0 && e.WordIds[t - 1] == word && e.TypeIds[t - 1] == 0)
            {
                if (open?.LastWord == word)
                {
                    open.End = e.Offsets[t].End;
                }
                continue;
            }
            var label = tokenLabels[t];
            var (prefix, type) = label.Length > 2 && label[1] == '-' ? (label[0], label[2..]) : ('O', label);
            if (prefix == 'I' && open?.Type == type)
            {
                open.Scores.Add(tokenScores[t]);
                open.End = e.Offsets[t].End;
                open.LastWord = word;
                continue;
            }
            Close();
            if (prefix is 'B' or 'I')
            {
                open = new OpenEntity(type, e.Offsets[t].Start, e.Offsets[t].End, word, [tokenScores[t]]);
            }
        }
        Close();
        return entities;
    }

    sealed class OpenEntity(string type, int start, int end, int lastWord, List<float> scores)
    {
        public string Type { get; } = type;
        public int Start { get; } = start;
        public int End { get; set; } = end;
        public int LastWord { get; set; } = lastWord;
        public List<float> Scores { get; } = scores;
    }

    JsonObject[] FillMasks(Tensor logits, IReadOnlyList<EncodedInput> rows, int topK)
    {
        var positions = rows.SelectMany((e, r) => e.Encoding.Ids.Select((id, t) => (id, r, t)).Where(p => p.id == maskId).Select(p => (p.r, p.t))).ToArray();
        var rowIndex = tensor(positions.Select(p => (long)p.r).ToArray(), device: logits.device);
        var colIndex = tensor(positions.Select(p => (long)p.t).ToArray(), device: logits.device);
        int k = Math.Min(topK, (int)logits.shape[2]);
        var (values, indices) = logits[rowIndex, colIndex].softmax(-1).topk(k);
        var probs = values.cpu().data<float>().ToArray();
        var ids = indices.cpu().data<long>().ToArray();
        var results = rows.Select(_ => new JsonObject { ["masks"] = new JsonArray() }).ToArray();
        for (int p = 0; p < positions.Length; p++)
        {
            var candidates = new JsonArray();
            for (int j = 0; j < k; j++)
            {
                int id = (int)ids[p * k + j];
                candidates.Add(new JsonObject
                {
                    ["token"] = Tokenizer.Decode([id], skipSpecialTokens: false),
                    ["token_id"] = id,
                    ["score"] = probs[p * k + j],
                });
            }
            results[positions[p].r]["masks"]!.AsArray().Add(new JsonObject { ["position"] = positions[p].t, ["candidates"] = candidates });
        }
        return results;
    }

    /// <summary>Greedy or sampled continuation of one prompt, stopping at end-of-text; the context slides to the
    /// model's last <c>n_positions</c> tokens. With the key-value cache each new token feeds one position; once the
    /// context slides, positions shift and the window is fed whole, as without it. Sampling draws from a generator
    /// seeded per input, so a seed reproduces the text whatever else is batched with it.</summary>
    JsonObject Generate(EncodedInput prompt, PredictOptions options, CancellationToken cancellationToken)
    {
        var ids = prompt.Encoding.Ids.Select(id => (long)id).ToList();
        using var generator = options.Sampling ? new Generator((ulong)(options.Seed ?? Random.Shared.NextInt64())) : null;
        var generated = new List<int>();
        using var decoder = forward!.Decoder();
        using var inference = inference_mode();
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            long[] feed;
            if (KeyValueCache && decoder.Length > 0 && ids.Count <= maxLength)
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
        return new JsonObject
        {
            ["generated_text"] = prompt.Input.Text + Tokenizer.Decode(generated),
            ["new_tokens"] = generated.Count,
        };
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

    public void Dispose() => forward?.Dispose();
}
