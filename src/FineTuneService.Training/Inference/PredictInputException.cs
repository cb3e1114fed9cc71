namespace FineTuneService.Training.Inference;

/// <summary>An input the loaded model cannot take (no [MASK] for a masked LM, a prompt too long, …). <see cref="Input"/>
/// is its index in the list the model was given and <see cref="Part"/> the part at fault by the tokenizer's argument name
/// (<c>text_pair</c>); the input is null when the model predicts on no input at all (a bare encoder).</summary>
public sealed class PredictInputException(string message, int? input = null, string? part = null) : InvalidInputException(message)
{
    public int? Input { get; } = input;

    public string? Part { get; } = part;
}
