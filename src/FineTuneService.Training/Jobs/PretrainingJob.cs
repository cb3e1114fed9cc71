using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Data;
using FineTuneService.Training.Models;
using FineTuneService.Training.Tokenization;
using FineTuneService.Training.Trainer;
using TorchSharp;

namespace FineTuneService.Training.Jobs;

/// <summary>The <c>pretrain</c> jobs: masked LM (<c>mlm</c>), masked LM + next sentence (<c>mlm_nsp</c>) and causal
/// LM (<c>clm</c>), from scratch (a tokenizer trained on the corpus and a fresh model of the given shape) or continued
/// from a base model folder. The corpus is streamed into example files in the work folder once; the Trainer runs on
/// them; the result is a Hugging Face folder (<c>BertForMaskedLM</c>, <c>BertForPreTraining</c>, <c>GPT2LMHeadModel</c>
/// with its tokenizer) that fine-tune jobs start from.</summary>
public static class PretrainingJob
{
    /// <summary>Every problem of a pretraining spec, keyed by field; empty when the job can run.</summary>
    public static IReadOnlyDictionary<JobField, string[]> Validate(TrainingJobRequest request) => Parse(request, out _, out _);

    static Dictionary<JobField, string[]> Parse(TrainingJobRequest request, out PretrainingSpec? spec, out TrainingArguments args)
    {
        var errors = new Dictionary<JobField, string[]>();
        spec = PretrainingSpec.Parse(request, errors);
        args = TrainingArguments.Parse(TaskRules.TrainerHyperparameters(request.Hyperparameters), out var argErrors);
        foreach (var (key, messages) in argErrors)
            foreach (var message in messages) errors.Append(key, message);
        if (spec is not null)
            TaskRules.CheckEvaluation(spec.Entry, request, args, errors.Append);
        return errors;
    }

    public static TrainingJobResult Run(TrainingJobRequest request, ITrainingObserver observer, CancellationToken cancellationToken,
        CancellationToken pause = default)
    {
        var errors = Parse(request, out var parsed, out var args);
        if (errors.Count > 0)
            throw new ArgumentException(string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")), nameof(request));
        var spec = parsed!;
        IEnumerable<CorpusDocument> Read(DataFile file) => CorpusReader.ReadDocuments(file, request.Columns.Text);
        var split = request.ValidationSplit is { } fraction ? CorpusSplit.Of(Read(request.Train), fraction) : null;
        IEnumerable<CorpusDocument> TrainDocuments() => split?.Part(Read(request.Train), heldOut: false) ?? Read(request.Train);
        Func<IEnumerable<CorpusDocument>>? evalDocuments = request.Validation is { } validation ? () => Read(validation)
            : split is not null ? () => split.Part(Read(request.Train), heldOut: true)
            : null;

        var tokenizer = LoadOrTrainTokenizer(request, spec, TrainDocuments, observer);
        var shape = request.BaseModelDir is { } baseDir ? ModelConfig.Load(Path.Combine(baseDir, ModelFolder.ConfigFile)) : spec.Shape!;
        var architecture = ModelCatalogue.Of(shape).ArchitectureFor(spec.Entry.Head)!;
        var model = request.BaseModelDir is { } dir
            ? ModelFolder.Load(dir, architecture, seed: args.Seed)
            : ModelFolder.Create(architecture, shape.SizedFor(tokenizer.VocabSize, tokenizer.PadId, (tokenizer as ByteLevelBpeTokenizer)?.EosId ?? tokenizer.PadId), args.Seed);
        var maxSeqLength = Math.Min(args.MaxSeqLength, model.Config.MaxPositions);

        var dataDir = Path.Combine(request.WorkDir, "data");
        var masking = Masking(spec, tokenizer);
        using var train = PretrainingDataset.OpenOrCreate(Path.Combine(dataDir, "train.bin"),
            () => Examples(spec, tokenizer, maxSeqLength, TrainDocuments(), args.Seed), masking, args.Seed);
        using var eval = evalDocuments is null ? null : PretrainingDataset.OpenOrCreate(Path.Combine(dataDir, "eval.bin"),
            () => Examples(spec, tokenizer, maxSeqLength, evalDocuments(), args.Seed + 1), masking, args.Seed + 1, "evaluation");
        observer.Event($"Pretraining {architecture} ({spec.Task}) on {train.Count} examples of up to {maxSeqLength} tokens"
            + (eval is null ? "." : $", evaluating on {eval.Count}."));

        var device = TorchDevices.Resolve(request.Device);
        model.Module.to(device);
        var trainer = new Trainer.Trainer(model, args, train, eval, [], request.CheckpointsDir, observer, device);
        var result = trainer.Train(cancellationToken, pause);

        var trainingArgs = args.ToJson();
        trainingArgs["task"] = spec.Task;
        foreach (var (name, value) in spec.Objective()) trainingArgs[name] = value;
        FolderPublisher.Publish(request.OutputModelDir, dir => ModelFolder.Export(model, dir, tokenizer, trainingArgs));
        return new TrainingJobResult(request.OutputModelDir, result.Metrics);
    }

    /// <summary>The base model's tokenizer, or one trained on the training corpus (kept in the work folder, so a resumed
    /// job does not train it again).</summary>
    static ITokenizer LoadOrTrainTokenizer(TrainingJobRequest request, PretrainingSpec spec,
        Func<IEnumerable<CorpusDocument>> documents, ITrainingObserver observer)
    {
        if (request.BaseModelDir is { } baseDir)
            return Tokenizers.LoadFromFolder(baseDir);
        var dir = Path.Combine(request.WorkDir, "tokenizer");
        if (Directory.Exists(dir))
            return Tokenizers.LoadFromFolder(dir);
        var settings = spec.Tokenizer!;
        var lines = documents().SelectMany(d => d.Lines);
        ITokenizer tokenizer = spec.IsCausal
            ? BpeTrainer.Train(lines, settings.VocabSize, settings.MinFrequency, settings.Lowercase)
            : WordPieceTrainer.Train(lines, settings.VocabSize, settings.Lowercase, settings.MinFrequency);
        FolderPublisher.Publish(dir, tokenizer.Save);
        observer.Event($"Trained a {(spec.IsCausal ? "byte-level BPE" : "WordPiece")} tokenizer of {tokenizer.VocabSize} tokens on the corpus.");
        return tokenizer;
    }

    static MlmCollator? Masking(PretrainingSpec spec, ITokenizer tokenizer)
    {
        if (spec.IsCausal)
            return null;
        var mask = tokenizer.MaskId
            ?? throw new InvalidDataException("Masked-LM pretraining needs a tokenizer with a mask token ([MASK], <mask>).");
        return new MlmCollator(tokenizer.VocabSize, mask, tokenizer.PadId, tokenizer.Specials.Select(s => s.Id).ToHashSet(),
            spec.MlmProbability, spec.WholeWordMask);
    }

    static IEnumerable<PretrainingExample> Examples(PretrainingSpec spec, ITokenizer tokenizer, int maxSeqLength,
        IEnumerable<CorpusDocument> documents, int seed)
    {
        var rng = new Random(seed);
        return (spec.Task, tokenizer) switch
        {
            ("clm", ByteLevelBpeTokenizer bpe) => ClmBlocks.Pack(documents.TokenIds(bpe), bpe.EosId, maxSeqLength).Select(PretrainingExample.FromBlock),
            ("mlm_nsp", WordPieceTokenizer wp) => new NspExampleBuilder(wp.ClsId, wp.SepId, maxSeqLength, spec.ShortSeqProb).Build(documents.Sentences(wp), rng),
            // Each example framed as the tokenizer frames a text: [CLS] … [SEP], <s> … </s>.
            ("mlm", _) when tokenizer.Template.Frame() is ({ } first, { } last) =>
                new MlmExampleBuilder(first, last, maxSeqLength).Build(documents.Sentences(tokenizer), rng),
            _ => throw new InvalidDataException($"Task {spec.Task} cannot use a {tokenizer.GetType().Name}."),
        };
    }
}
