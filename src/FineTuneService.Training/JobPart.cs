namespace FineTuneService.Training;

/// <summary>The parts of a training job request a problem can concern (<see cref="JobField"/>).</summary>
public enum JobPart { Type, Task, Device, Train, Validation, ValidationSplit, Columns, Hyperparameters, BaseModel, ModelShape, Tokenizer }
