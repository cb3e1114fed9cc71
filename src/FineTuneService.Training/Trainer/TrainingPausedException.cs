namespace FineTuneService.Training.Trainer;

/// <summary>Training stopped at a pause request, right after the checkpoint of <see cref="Step"/>.</summary>
public sealed class TrainingPausedException(int step) : Exception($"Paused at step {step}.")
{
    public int Step { get; } = step;
}
