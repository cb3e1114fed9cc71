using FineTuneService.Platform.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FineTuneService.Platform.Identity;

public static class EndpointSecurity
{
    /// <summary>Requires a key that <paramref name="policy"/> allows, and says so in the OpenAPI document: 401 without a
    /// valid key, 403 for a role the policy refuses, 503 while the database that holds the keys is down.</summary>
    public static TBuilder RequireKey<TBuilder>(this TBuilder builder, string policy) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(policy)
            .WithProblems(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status503ServiceUnavailable);
}
