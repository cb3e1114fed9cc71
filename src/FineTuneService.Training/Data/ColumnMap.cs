using FineTuneService.Training.Models;

namespace FineTuneService.Training.Data;

/// <summary>Which columns of a tabular dataset feed the model.</summary>
public sealed record ColumnMap(string Text = "text", string? TextPair = null, string? Label = "label")
{
    /// <summary>The columns named here that <paramref name="task"/> reads, by their role (<c>text</c>, <c>text_pair</c>, <c>label</c>).</summary>
    public IEnumerable<(string Role, string Column)> Named(TrainingTask task) =>
        new[] { (TrainingTask.TextColumn, Text), (TrainingTask.TextPairColumn, TextPair), (TrainingTask.LabelColumn, Label) }
            .Where(x => x.Item2 is not null && task.Reads(x.Item1)).Select(x => (x.Item1, x.Item2!));

    /// <summary>This map without the columns <paramref name="task"/> does not read.</summary>
    public ColumnMap For(TrainingTask task) => new(Text,
        task.Reads(TrainingTask.TextPairColumn) ? TextPair : null, task.Reads(TrainingTask.LabelColumn) ? Label : null);
}
