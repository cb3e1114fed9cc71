namespace FineTuneService.Platform.Http;

/// <summary>The service is busy for this caller (a full queue, a rate limit): 429 <c>too_many_requests</c> with <c>Retry-After</c>.</summary>
public sealed class TooManyRequestsException : ProblemException
{
    public TooManyRequestsException(string message, TimeSpan retryAfter) : base(ProblemCodes.TooManyRequests, message) => RetryAfter = retryAfter;
}
