using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FineTuneService.Platform.Http;

/// <summary>The error answers an endpoint can give, for the OpenAPI document: 400 is validation problem details (an
/// <c>errors</c> map of field → messages), every other status plain problem details; all carry <c>code</c>.</summary>
public static class ProblemResponses
{
    /// <summary>Documents the request body of a handler that reads it itself, so that it keeps its own answers to a
    /// wrong content type (a 400 naming <c>body</c>, its own 415) where <c>Accepts</c> would make routing answer first.</summary>
    public static RouteHandlerBuilder WithRequestBody<T>(this RouteHandlerBuilder builder, string contentType, bool required = true) =>
        builder.WithMetadata(new DocumentedBody(typeof(T), contentType, required));

    public static RouteHandlerBuilder WithProblems(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses)
        {
            if (status == StatusCodes.Status400BadRequest) builder.ProducesValidationProblem();
            else builder.ProducesProblem(status);
        }

        return builder;
    }
}
