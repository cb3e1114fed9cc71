namespace FineTuneService.Training;

/// <summary>What a user gave the core (a data file, a model folder, an input to predict on) cannot be used; the
/// message says why, in the user's terms. The core's refusals derive from it, so a host answers them all one way (the
/// Platform: a 400, naming the part of the request the core read where the endpoint knows it).</summary>
public abstract class InvalidInputException(string message) : Exception(message);
