using System.Globalization;
using FineTuneService.Platform.Persistence;
using FineTuneService.Training;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace FineTuneService.Platform.Http;

/// <summary>The one place where exceptions become RFC 9457 problem details, each with a code of
/// <see cref="ProblemCodes"/>. Anything unknown is a 500 without details.</summary>
public sealed class ProblemExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken) =>
        WriteAsync(problemDetails, httpContext, exception);

    /// <summary>Answers <paramref name="exception"/>; also how the authentication challenge and the rate limiter refuse,
    /// since they answer without throwing.</summary>
    public static async ValueTask<bool> WriteAsync(IProblemDetailsService problemDetails, HttpContext httpContext, Exception exception)
    {
        var problem = exception switch
        {
            ProblemException e => Problem(httpContext, e.Code, e.Message, e.Errors, e.RetryAfter),
            // The core's refusals: an endpoint that knows which part of the request the core read names it instead.
            InvalidInputException e => Problem(httpContext, ProblemCodes.ValidationFailed, e.Message,
                new Dictionary<string, string[]> { ["body"] = [e.Message] }, null),
            // The database is down or restarting: the request may succeed in a moment, so 503 and not 500.
            _ when Transient.Is(exception) => Problem(httpContext, ProblemCodes.ServiceUnavailable, null, null, TimeSpan.FromSeconds(5)),
            // Kestrel's body size limit (413), malformed multipart, failed parameter binding: the code follows the status.
            BadHttpRequestException e => new ProblemDetails { Status = e.StatusCode, Title = "Bad request.", Detail = e.Message },
            _ => Problem(httpContext, ProblemCodes.InternalError, null, null, null),
        };
        httpContext.Response.StatusCode = problem.Status!.Value;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    static ProblemDetails Problem(HttpContext httpContext, ProblemCode code, string? detail, IReadOnlyDictionary<string, string[]>? errors, TimeSpan? retryAfter)
    {
        if (retryAfter is { } wait)
            httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        var problem = errors is null ? new ProblemDetails() : new HttpValidationProblemDetails(errors.ToDictionary());
        problem.Status = code.Status;
        problem.Title = code.Title;
        problem.Detail = detail;
        problem.Extensions["code"] = code.Code;
        return problem;
    }

    /// <summary>Stable machine-readable <c>type</c> and <c>code</c> for every problem, including status-code pages; a
    /// problem that names its own code keeps it.</summary>
    public static void Customize(ProblemDetailsContext context)
    {
        var status = context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode;
        var code = context.ProblemDetails.Extensions.TryGetValue("code", out var own) && own is string given ? given
            : ProblemCodes.ForStatus(status, context.ProblemDetails is HttpValidationProblemDetails).Code;
        context.ProblemDetails.Type = "urn:finetuneservice:problem:" + code;
        context.ProblemDetails.Extensions["code"] = code;
        context.ProblemDetails.Extensions["trace_id"] = context.HttpContext.TraceIdentifier;
    }
}
