using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Data;
using FineTuneService.Training.Models;
using FineTuneService.Training.Tokenization;
using FineTuneService.Training.Trainer;
using TorchSharp;

namespace FineTuneService.Training.Jobs;

/// <summary>Fine-tunes a checkpoint of any family with a head for the task (<see cref="ModelCatalogue"/>): sequence_classification (one text or a pair via columns.text_pair;
/// multi-class, or multi_label with the hyperparameter multi_label), regression, token_classification
/// (columns.text = the words, columns.label = their IOB2 tags). Labels are the training data's distinct values,
/// sorted, and become id2label. The result is a Hugging Face folder in OutputModelDir.</summary>
public static class FineTuneJob
{
    public static IReadOnlyDictionary<JobField, string[]> Validate(TrainingJobRequest request)
    {
        if (TaskCatalogue.Refusal(TaskCatalogue.FineTune.Name, request.Task) is { } refusal)
            return new Dictionary<JobField, string[]> { [refusal.Field] = [refusal.Message + "."] };
        var args = TrainingArguments.Parse(TaskRules.TrainerHyperparameters(request.Hyperparameters), out var found);
        var errors = new Dictionary<JobField, string[]>(found);
        void Error(JobField key, string message) => errors.Append(key, message);

        var task = TaskOf(request, args);
        TaskRules.CheckHyperparameters(task, request.Hyperparameters, Error);
        if (EvaluationDataRules.SplitError(request.ValidationSplit, request.Validation is not null) is { } splitError)
            Error(JobField.ValidationSplit, splitError);
        TaskRules.CheckEvaluation(task, request, args, Error);

        if (request.BaseModelDir is null)
        {
            Error(JobField.BaseModel, "fine-tuning needs a base model.");
        }
        else
        {
            try
            {
                var config = ModelConfig.Load(Path.Combine(request.BaseModelDir, ModelFolder.ConfigFile));
                foreach (var (field, message) in request.ModelBudget.Check(config)) Error(JobField.BaseModel, $"config.json {field}: {message}.");
                if (ModelCatalogue.Of(config).ArchitectureFor(task.Head) is null)
                {
                    Error(JobField.BaseModel, $"a {config.ModelType} model has no {task.Name} head; fine-tune one of the families that have one ("
                        + string.Join(", ", TaskCatalogue.Families(task)) + ").");
                }
                else if (args.FreezeLayers > config.NumLayers)
                {
                    Error(JobField.Hyperparameter("freeze_layers"), $"the base model has {config.NumLayers} layers.");
                }
            }
            catch (InvalidCheckpointException e) { Error(JobField.BaseModel, e.Message); }
        }

        if (errors.Count == 0) CheckData(request, task, args, Error);
        return errors;
    }

    /// <summary>The catalogue's entry for the request's task (its multi-label variant when multi_label is set).</summary>
    static TrainingTask TaskOf(TrainingJobRequest request, TrainingArguments args) =>
        TaskCatalogue.Find(TaskCatalogue.FineTune.Name, request.Task)!.For(args.MultiLabel);

    /// <summary>Columns exist, labels parse, there are at least two classes, validation labels were seen in training.</summary>
    static void CheckData(TrainingJobRequest request, TrainingTask task, TrainingArguments args, Action<JobField, string> error)
    {
        var c = request.Columns;
        if (c.Label is null) { error(JobField.Column(TrainingTask.LabelColumn), "fine-tuning needs a label column."); return; }
        var kind = task.Labels!.Value;
        string[]? trainLabels = null;
        foreach (var (file, field) in new[] { (request.Train, JobField.Train), (request.Validation, JobField.Validation) })
        {
            if (file is null) continue;
            try
            {
                // What the upload recorded, when the platform passes it: the file is not read again inside the request.
                IEnumerable<IReadOnlyDictionary<string, string>>? rows = file.Summary is null ? TabularData.ReadRows(file.Path, file.Format) : null;
                var columns = file.Summary?.Columns.ToHashSet() ?? rows!.FirstOrDefault()?.Keys.ToHashSet() ?? [];
                var missing = c.Named(task).Where(x => !columns.Contains(x.Column)).Select(x => (JobField.Column(x.Role), x.Column)).ToArray();
                foreach (var (key, name) in missing) error(key, $"'{name}' is not a column of the dataset ({string.Join(", ", columns)}).");
                if (missing.Length > 0) return;
                if (rows is null)
                {
                    // A label column with too many distinct values to record: its labels are checked when the job runs.
                    if (file.Summary!.Values?.GetValueOrDefault(c.Label) is not { } recorded) return;
                    rows = [.. recorded.Select(v => (IReadOnlyDictionary<string, string>)new Dictionary<string, string> { [c.Label] = v })];
                }
                var labels = FineTuneExamples.Labels(rows, c, kind);
                if (trainLabels is null)
                {
                    trainLabels = labels;
                    if (labels.Length < task.MinLabels) error(JobField.Column(TrainingTask.LabelColumn), $"needs at least {task.MinLabels} distinct labels; found {labels.Length}.");
                    if (args.ClassWeights is { } w && w.Length != labels.Length)
                        error(JobField.Hyperparameter("class_weights"), $"has {w.Length} weights for {labels.Length} labels ({string.Join(", ", labels)}).");
                }
                else if (labels.Except(trainLabels).ToArray() is { Length: > 0 } unseen)
                {
                    error(JobField.Validation, $"labels not in the training data: {string.Join(", ", unseen.Take(10))}.");
                }
            }
            catch (DataFormatException e) { error(field, e.Message); return; }
        }
    }

    public static TrainingJobResult Run(TrainingJobRequest request, ITrainingObserver observer, CancellationToken cancellationToken,
        CancellationToken pause = default)
    {
        var args = TrainingArguments.Parse(TaskRules.TrainerHyperparameters(request.Hyperparameters), out var errors);
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")));
        var device = TorchDevices.Resolve(request.Device);
        var task = TaskOf(request, args);

        var tokenizer = Tokenizers.LoadFromFolder(request.BaseModelDir!);
        var baseConfig = ModelConfig.Load(Path.Combine(request.BaseModelDir!, ModelFolder.ConfigFile));
        // As HF's example scripts do: max_seq_length is capped by what the model's position embeddings allow.
        using var data = OpenData(request, args, tokenizer, Math.Min(args.MaxSeqLength, baseConfig.MaxPositions));
        var (labels, train, eval) = data;
        observer.Event($"Data: {train.Count} training and {eval?.Count ?? 0} evaluation examples; labels: {(labels.Length == 0 ? "(regression)" : string.Join(", ", labels.Take(20)))}.");

        // model: the base encoder under a fresh task head whose config carries the labels
        Trainer.Trainer.SetSeed(args.Seed);
        var names = labels.Length == 0 ? ["LABEL_0"] : labels;
        var model = ModelFolder.Load(request.BaseModelDir!,
            ModelCatalogue.Of(baseConfig).ArchitectureFor(task.Head)!,
            config => config.ForClassifier(tokenizer.PadId) with
            {
                Id2Label = names.Select((l, i) => (l, i)).ToDictionary(x => x.i, x => x.l),
                Label2Id = names.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i),
                ProblemType = task.ProblemType,
            },
            args.Seed, request.ModelBudget);
        if (model is ISequenceClassifier classifier && args.ClassWeights is { } weights)
            classifier.ClassWeights = weights.Select(w => (float)w).ToArray();
        model.Module.to(device);

        var result = new Trainer.Trainer(model, args, train, eval, names, request.CheckpointsDir, observer, device)
            .Train(cancellationToken, pause);

        FolderPublisher.Publish(request.OutputModelDir, dir => ModelFolder.Export(model, dir, tokenizer, args.ToJson()));
        observer.Event("Exported the model.");
        model.Module.Dispose();
        return new TrainingJobResult(request.OutputModelDir, result.Metrics);
    }

    /// <summary>The job's labels (sorted, from the training rows) and its datasets: the rows stream from the files and their
    /// tokenized examples are written once to the work folder, then read from there through a memory map (a resumed job
    /// reuses the files), so the job's memory does not grow with its data.</summary>
    public static FineTuneData OpenData(TrainingJobRequest request, TrainingArguments args, ITokenizer tokenizer, int maxLength)
    {
        var kind = TaskOf(request, args).Labels!.Value;
        static IEnumerable<IReadOnlyDictionary<string, string>> Rows(DataFile file) => TabularData.ReadRows(file.Path, file.Format);
        var heldOut = request.ValidationSplit is { } split ? HeldOut(Rows(request.Train).Count(), split, args.Seed) : null;
        IEnumerable<IReadOnlyDictionary<string, string>> TrainRows() =>
            heldOut is null ? Rows(request.Train) : Rows(request.Train).Where((_, i) => !heldOut[i]);
        Func<IEnumerable<IReadOnlyDictionary<string, string>>>? evalRows = request.Validation is { } v ? () => Rows(v)
            : heldOut is null ? null
            : () => Rows(request.Train).Where((_, i) => heldOut[i]);
        var labels = FineTuneExamples.Labels(TrainRows(), request.Columns, kind);
        FineTuneDataset Open(string name, Func<IEnumerable<IReadOnlyDictionary<string, string>>> rows) =>
            FineTuneDataset.OpenOrCreate(Path.Combine(request.WorkDir, "data", name),
                () => FineTuneExamples.Build(rows(), request.Columns, kind, labels, tokenizer, maxLength, args.LabelAllTokens), kind, tokenizer.PadId);
        var train = Open("train.bin", TrainRows);
        try
        {
            return new FineTuneData(labels, train, evalRows is null ? null : Open("eval.bin", evalRows));
        }
        catch
        {
            train.Dispose();
            throw;
        }
    }

    /// <summary>Which of <paramref name="rows"/> training rows a seeded split holds out: the last <paramref name="fraction"/>
    /// of a shuffled order.</summary>
    static bool[] HeldOut(int rows, double fraction, int seed)
    {
        var order = Enumerable.Range(0, rows).ToArray();
        new Random(seed).Shuffle(order);
        var evalCount = Math.Clamp((int)Math.Round(rows * fraction), 1, rows - 1);
        var heldOut = new bool[rows];
        foreach (var row in order[^evalCount..]) heldOut[row] = true;
        return heldOut;
    }
}
