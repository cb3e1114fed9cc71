namespace FineTuneService.Training.Models;

/// <summary>What a loaded model predicts, from its <c>config.json</c> architecture and problem type.
/// <see cref="Encoder"/> is a bare encoder (e.g. <c>BertModel</c>): it tokenizes but has no head to predict with.</summary>
public enum ModelKind
{
    Encoder,
    SequenceClassification,
    MultiLabelClassification,
    Regression,
    TokenClassification,
    Mlm,
    Clm,
}
