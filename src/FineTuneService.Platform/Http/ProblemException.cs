namespace FineTuneService.Platform.Http;

/// <summary>A refusal of the request, thrown from anywhere below an endpoint and answered by
/// <see cref="ProblemExceptionHandler"/> as problem details with <see cref="Code"/>'s status, title and code.
/// <see cref="Errors"/> (field → messages) makes it a validation problem.</summary>
public class ProblemException(ProblemCode code, string detail, IReadOnlyDictionary<string, string[]>? errors = null) : Exception(detail)
{
    public ProblemCode Code { get; } = code;
    public IReadOnlyDictionary<string, string[]>? Errors { get; } = errors;
    /// <summary>Sent as <c>Retry-After</c> (whole seconds, at least 1).</summary>
    public TimeSpan? RetryAfter { get; init; }
}
