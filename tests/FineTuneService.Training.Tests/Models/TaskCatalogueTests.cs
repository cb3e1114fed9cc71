using FineTuneService.Training;
using FineTuneService.Training.Data;
using FineTuneService.Training.Models;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Models;

/// <summary>The task catalogue says what the code does: the metrics each task's evaluation reports, the model a saved
/// config.json is served as, the families that can train each task, and the wording of its refusals.</summary>
public sealed class TaskCatalogueTests
{
    static IEnumerable<TrainingTask> Variants => TaskCatalogue.All.SelectMany(t => t.MultiLabel is { } v ? new[] { t, v } : [t]);

    public static TheoryData<string, bool> Tasks()
    {
        var data = new TheoryData<string, bool>();
        foreach (var task in TaskCatalogue.All)
        {
            data.Add(task.Name, false);
            if (task.MultiLabel is not null) data.Add(task.Name, true);
        }
        return data;
    }

    static TrainingTask Entry(string name, bool multiLabel) => TaskCatalogue.All.Single(t => t.Name == name).For(multiLabel);

    [Theory]
    [MemberData(nameof(Tasks))]
    public void AnEvaluationReportsTheMetricsTheCatalogueLists(string name, bool multiLabel)
    {
        var task = Entry(name, multiLabel);
        using var scope = NewDisposeScope();
        var reported = task.Labels is { } kind ? FineTuneMetrics(kind) : PretrainingMetrics(task.Head);

        Assert.Equal(task.Metrics.Order(), reported.Keys.Select(k => "eval_" + k).Append("eval_loss").Order());
    }

    // Two examples of the kind, scored from logits as the Trainer's evaluation pass gives them.
    static IReadOnlyDictionary<string, double> FineTuneMetrics(LabelKind kind)
    {
        FineTuneExample[] examples = kind switch
        {
            LabelKind.SingleLabel => [new([2, 5, 3], [0, 0, 0], ClassId: 0), new([2, 6, 3], [0, 0, 0], ClassId: 1)],
            LabelKind.MultiLabel => [new([2, 5, 3], [0, 0, 0], Targets: [1f, 0f]), new([2, 6, 3], [0, 0, 0], Targets: [1f, 1f])],
            LabelKind.Regression => [new([2, 5, 3], [0, 0, 0], Targets: [0.5f]), new([2, 6, 3], [0, 0, 0], Targets: [2f])],
            _ => [new([2, 5, 3], [0, 0, 0], TokenLabels: [-100, 0, -100]), new([2, 6, 3], [0, 0, 0], TokenLabels: [-100, 1, -100])],
        };
        var dir = Directory.CreateTempSubdirectory("task-metrics-");
        try
        {
            using var data = FineTuneDataset.OpenOrCreate(Path.Combine(dir.FullName, "eval.bin"), () => examples, kind, padId: 0);
            var evaluation = new FineTuneEvaluation(data, ["B-PER", "O"]);
            var logits = kind switch
            {
                LabelKind.Regression => tensor(new[] { 0.4f, 1.5f }).reshape(2, 1),
                LabelKind.Token => randn(2, 3, 2),
                _ => tensor(new[] { 2f, -1f, 1f, 3f }).reshape(2, 2),
            };
            using var batch = new Batch(zeros(2, 3, ScalarType.Int64), ones(2, 3, ScalarType.Int64));
            evaluation.Add([0, 1], batch, new ModelOutput(null, logits));
            return evaluation.Metrics();
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    static IReadOnlyDictionary<string, double> PretrainingMetrics(ModelTask head)
    {
        var evaluation = new PretrainingEvaluation(causal: head == ModelTask.CausalLM);
        using var batch = new Batch(zeros(2, 4, ScalarType.Int64), ones(2, 4, ScalarType.Int64),
            Labels: tensor(new long[] { -100, 5, 7, -100, 3, -100, -100, 2 }).reshape(2, 4),
            NextSentenceLabels: head == ModelTask.PreTraining ? tensor(new long[] { 0, 1 }) : null);
        evaluation.Add([0, 1], batch, new ModelOutput(null, randn(2, 4, 10), head == ModelTask.PreTraining ? randn(2, 2) : null));
        return evaluation.Metrics();
    }

    [Theory]
    [MemberData(nameof(Tasks))]
    public void ASavedModelIsServedAsTheTaskThatTrainedIt(string name, bool multiLabel)
    {
        var task = Entry(name, multiLabel);
        foreach (var family in ModelCatalogue.Families.Where(f => f.ArchitectureFor(task.Head) is not null))
        {
            var config = (ModelConfig)Activator.CreateInstance(family.ConfigType)! with
            {
                Architectures = [family.ArchitectureFor(task.Head)!],
                ProblemType = task.ProblemType,
            };
            Assert.Same(task, TaskCatalogue.OfModel(config));
        }
        Assert.Contains(task.Job, TaskCatalogue.JobTypes);
    }

    [Fact]
    public void AClassifierWithoutAProblemTypeIsServedAsHuggingFaceReadsIt()
    {
        var config = new BertConfig { Architectures = ["BertForSequenceClassification"], Id2Label = new Dictionary<int, string> { [0] = "score" } };

        Assert.Equal(ModelKind.Regression, TaskCatalogue.OfModel(config)!.Predicts);
        Assert.Equal(ModelKind.SequenceClassification, TaskCatalogue.OfModel(config with { Id2Label = null })!.Predicts);
        Assert.Equal(ModelKind.SequenceClassification, TaskCatalogue.OfModel(config with { ProblemType = "ordinal" })!.Predicts);
        Assert.Null(TaskCatalogue.OfModel(config with { Architectures = ["BertModel"] }));
    }

    [Fact]
    public void EachTaskIsTrainedByTheFamiliesWithItsHead()
    {
        Assert.Equal(["bert", "roberta", "xlm-roberta", "distilbert", "modernbert", "gpt2", "llama", "qwen2"],
            TaskCatalogue.Families(Entry("sequence_classification", false)));
        // GPT-2 takes token_classification by its head line in Gpt2.cs alone.
        Assert.Equal(["bert", "roberta", "xlm-roberta", "distilbert", "modernbert", "gpt2"], TaskCatalogue.Families(Entry("token_classification", false)));
        Assert.Equal(["bert"], TaskCatalogue.Families(Entry("mlm_nsp", false)));
        Assert.Equal(["gpt2", "llama", "qwen2"], TaskCatalogue.Families(Entry("clm", false)));
        Assert.All(Variants, t => Assert.NotEmpty(TaskCatalogue.Families(t)));
    }

    [Fact]
    public void RefusalsNameWhatIsAllowed()
    {
        Assert.Equal((JobField.Type, "required: finetune or pretrain"), TaskCatalogue.Refusal(null, null));
        Assert.Equal((JobField.Type, "'distill' is not a job type; use finetune or pretrain"), TaskCatalogue.Refusal("distill", "mlm"));
        Assert.Equal((JobField.Task, "'mlm' is not a finetune task; use one of sequence_classification, regression, token_classification"),
            TaskCatalogue.Refusal("finetune", "mlm"));
        Assert.Null(TaskCatalogue.Refusal("pretrain", "mlm"));

        var regression = Entry("regression", false);
        Assert.Equal("applies to sequence_classification only", TaskCatalogue.HyperparameterRefusal(regression, "multi_label"));
        Assert.Equal("applies to single-label sequence_classification only",
            TaskCatalogue.HyperparameterRefusal(Entry("sequence_classification", true), "class_weights"));
        Assert.Equal("applies to mlm and mlm_nsp only", TaskCatalogue.HyperparameterRefusal(Entry("clm", false), "mlm_probability"));
        Assert.Equal("applies to mlm_nsp only", TaskCatalogue.HyperparameterRefusal(Entry("mlm", false), "short_seq_prob"));
        Assert.Equal("applies to token_classification only", TaskCatalogue.HyperparameterRefusal(regression, "label_all_tokens"));
        Assert.Null(TaskCatalogue.HyperparameterRefusal(regression, "learning_rate"));
        Assert.Null(TaskCatalogue.HyperparameterRefusal(Entry("sequence_classification", false), "class_weights"));
    }
}
