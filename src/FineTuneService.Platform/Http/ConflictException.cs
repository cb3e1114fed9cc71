namespace FineTuneService.Platform.Http;

/// <summary>The request is valid but the resource's state forbids it (e.g. cancelling a finished job): 409 <c>conflict</c>.</summary>
public sealed class ConflictException(string message) : ProblemException(ProblemCodes.Conflict, message);
