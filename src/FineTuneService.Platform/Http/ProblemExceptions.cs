namespace FineTuneService.Platform.Http;

/// <summary>A user mistake in the request: field → messages, answered as 400 validation problem details.</summary>
public sealed class RequestValidationException(IReadOnlyDictionary<string, string[]> errors)
    : Exception("The request is not valid: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")))
{
    public RequestValidationException(string field, string message) : this(new Dictionary<string, string[]> { [field] = [message] }) { }

    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;
}

public sealed class NotFoundException(string resource, Guid id) : Exception($"No {resource} with id {id}.");

/// <summary>The request is valid but the resource's state forbids it (e.g. cancelling a finished job).</summary>
public sealed class ConflictException(string message) : Exception(message);

public sealed class PayloadTooLargeException(string field, long limitBytes)
    : Exception($"'{field}' is larger than the limit of {limitBytes} bytes.")
{
    public string Field { get; } = field;
}

/// <summary>The service is busy for this caller (a full queue, a rate limit): 429 with <c>Retry-After</c>.</summary>
public sealed class TooManyRequestsException(string message, TimeSpan retryAfter) : Exception(message)
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>A refusal with its own status and stable code: quotas (429, 403), cross-site requests, read-only shared models.</summary>
public sealed class ProblemException(int status, string code, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;
    public string Code { get; } = code;
    public string Title { get; } = title;
}
