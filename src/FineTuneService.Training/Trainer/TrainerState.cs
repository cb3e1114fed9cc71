namespace FineTuneService.Training.Trainer;

/// <summary>Where a run stands: written into every checkpoint as trainer_state.json.
/// Epoch/BatchInEpoch is the next batch to train in that epoch's fixed order.</summary>
public sealed class TrainerState
{
    public int GlobalStep { get; set; }
    public int Epoch { get; set; }
    public int BatchInEpoch { get; set; }
    public double LossSum { get; set; }
    public int LossSteps { get; set; }
    public double TotalLoss { get; set; }
    public double? BestMetric { get; set; }
    public int? BestStep { get; set; }
    public string? BestCheckpoint { get; set; }
    public Dictionary<string, double>? BestEval { get; set; }
    public Dictionary<string, double>? LastEval { get; set; }
    public int PatienceCounter { get; set; }
    /// <summary>Every train log and evaluation so far, with its step, as HF's trainer_state.json log_history.</summary>
    public List<Dictionary<string, double>> LogHistory { get; set; } = [];
}
