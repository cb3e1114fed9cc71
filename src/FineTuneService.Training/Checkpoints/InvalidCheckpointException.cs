namespace FineTuneService.Training.Checkpoints;

/// <summary>A checkpoint file or folder that cannot be used: wrong format, corrupt, or not matching the model.</summary>
public sealed class InvalidCheckpointException(string message) : InvalidInputException(message);
