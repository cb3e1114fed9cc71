namespace FineTuneService.Training;

/// <summary>What a user gave the core (a data file, a model folder, an input to predict on) cannot be used; the
/// message says why, in the user's terms. The core's refusals derive from it, so a host answers them all one way (the
/// Platform: a 400 naming <see cref="Field"/>, or the part of the request the core read).</summary>
public abstract class InvalidInputException(string message, string? field = null) : Exception(message)
{
    /// <summary>The request field the input came from, when the core knows it (e.g. <c>inputs[2]</c>).</summary>
    public string? Field { get; } = field;
}
