namespace FineTuneService.Training.Models;

/// <summary>What a task model does: the heads a family offers (<see cref="ModelFamily.Heads"/>), each trained by the
/// tasks of <see cref="TaskCatalogue"/> that name it.</summary>
public enum ModelTask
{
    SequenceClassification,
    TokenClassification,
    MaskedLM,
    PreTraining,
    CausalLM,
}
