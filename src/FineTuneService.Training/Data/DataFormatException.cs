namespace FineTuneService.Training.Data;

/// <summary>A data file that cannot be used as it is; the message says what is wrong, for the user.</summary>
public sealed class DataFormatException(string message) : InvalidInputException(message);
