namespace FineTuneService.Training.Models;

/// <summary>What a task model does: the heads a family offers, by the job task that trains them.</summary>
public enum ModelTask
{
    SequenceClassification,
    TokenClassification,
    MaskedLM,
    PreTraining,
    CausalLM,
}
