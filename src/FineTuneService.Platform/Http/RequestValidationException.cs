namespace FineTuneService.Platform.Http;

/// <summary>A user mistake in the request: field → messages, answered as 400 <c>validation_failed</c>.</summary>
public sealed class RequestValidationException(IReadOnlyDictionary<string, string[]> errors)
    : ProblemException(ProblemCodes.ValidationFailed, "The request is not valid: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")), errors)
{
    public RequestValidationException(string field, string message) : this(new Dictionary<string, string[]> { [field] = [message] }) { }
}
