namespace FineTuneService.Training.Trainer;

/// <summary>How training reports back; the platform writes these to the database.</summary>
public interface ITrainingObserver
{
    void Progress(int step, int totalSteps, double epoch);
    void Metrics(int step, double epoch, string split, IReadOnlyDictionary<string, double> values);
    /// <summary>Before a checkpoint of about <paramref name="bytes"/> is written; throwing stops the job with nothing written.</summary>
    void BeforeCheckpoint(int step, long bytes) { }
    void Checkpoint(int step, string path, IReadOnlyDictionary<string, double> metrics);
    void Event(string message);
}
