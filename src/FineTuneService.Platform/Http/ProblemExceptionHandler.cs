using FineTuneService.Platform.Persistence;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace FineTuneService.Platform.Http;

/// <summary>The one place where exceptions become RFC 9457 problem details. Anything unknown is a 500 without details.</summary>
public sealed class ProblemExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails problem = exception switch
        {
            RequestValidationException e => new HttpValidationProblemDetails(e.Errors.ToDictionary())
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "One or more fields are not valid.",
            },
            PayloadTooLargeException e => new HttpValidationProblemDetails(new Dictionary<string, string[]> { [e.Field] = [e.Message] })
            {
                Status = StatusCodes.Status413PayloadTooLarge,
                Title = "The upload is too large.",
            },
            NotFoundException e => new ProblemDetails { Status = StatusCodes.Status404NotFound, Title = "Not found.", Detail = e.Message },
            ConflictException e => new ProblemDetails { Status = StatusCodes.Status409Conflict, Title = "Conflict.", Detail = e.Message },
            TooManyRequestsException e => TooManyRequests(httpContext, e.Message, e.RetryAfter),
            ProblemException e => new ProblemDetails { Status = e.Status, Title = e.Title, Detail = e.Message, Extensions = { ["code"] = e.Code } },
            // The database is down or restarting: the request may succeed in a moment, so 503 and not 500.
            _ when Transient.Is(exception) => Unavailable(httpContext),
            // Kestrel's body size limit (413), malformed multipart, failed parameter binding.
            BadHttpRequestException e => new ProblemDetails { Status = e.StatusCode, Title = "Bad request.", Detail = e.Message },
            _ => new ProblemDetails { Status = StatusCodes.Status500InternalServerError, Title = "An unexpected error occurred." },
        };
        httpContext.Response.StatusCode = problem.Status!.Value;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    static ProblemDetails Unavailable(HttpContext httpContext)
    {
        httpContext.Response.Headers.RetryAfter = "5";
        return new ProblemDetails { Status = StatusCodes.Status503ServiceUnavailable, Title = "The database is unavailable; try again shortly." };
    }

    /// <summary>A 429 with <c>Retry-After</c> (whole seconds, at least 1).</summary>
    public static ProblemDetails TooManyRequests(HttpContext httpContext, string detail, TimeSpan retryAfter)
    {
        httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new ProblemDetails { Status = StatusCodes.Status429TooManyRequests, Title = "Too many requests.", Detail = detail };
    }

    /// <summary>Stable machine-readable <c>type</c> and <c>code</c> for every problem, including status-code pages; a
    /// problem that names its own code keeps it.</summary>
    public static void Customize(ProblemDetailsContext context)
    {
        var status = context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode;
        var code = context.ProblemDetails.Extensions.TryGetValue("code", out var own) && own is string given ? given : status switch
        {
            400 => context.ProblemDetails is HttpValidationProblemDetails ? "validation_failed" : "bad_request",
            401 => "api_key_required",
            403 => "forbidden",
            404 => "not_found",
            405 => "method_not_allowed",
            409 => "conflict",
            413 => "payload_too_large",
            415 => "unsupported_media_type",
            429 => "too_many_requests",
            503 => "service_unavailable",
            >= 500 => "internal_error",
            _ => "error",
        };
        context.ProblemDetails.Type = "urn:finetuneservice:problem:" + code;
        context.ProblemDetails.Extensions["code"] = code;
        context.ProblemDetails.Extensions["trace_id"] = context.HttpContext.TraceIdentifier;
    }
}
