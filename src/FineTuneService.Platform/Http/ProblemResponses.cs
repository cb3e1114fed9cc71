using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace FineTuneService.Platform.Http;

/// <summary>How an endpoint declares the error answers it can give, for the OpenAPI document: 400 is validation problem
/// details (an <c>errors</c> map of field → messages), every other status plain problem details; all carry a
/// <c>code</c> of <see cref="ProblemCodes"/>. The one way: on an endpoint or on its group (401 and 403 come with
/// <c>RequireKey</c>).</summary>
public static class ProblemResponses
{
    const string ProblemJson = "application/problem+json";

    /// <summary>Documents the request body of a handler that reads it itself, so that it keeps its own answers to a
    /// wrong content type (a 400 naming <c>body</c>, its own 415) where <c>Accepts</c> would make routing answer first.</summary>
    public static RouteHandlerBuilder WithRequestBody<T>(this RouteHandlerBuilder builder, string contentType, bool required = true) =>
        builder.WithMetadata(new DocumentedBody(typeof(T), contentType, required));

    public static TBuilder WithProblems<TBuilder>(this TBuilder builder, params int[] statuses) where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses)
        {
            var type = status == StatusCodes.Status400BadRequest ? typeof(HttpValidationProblemDetails) : typeof(ProblemDetails);
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, type, [ProblemJson]));
        }

        return builder;
    }
}
