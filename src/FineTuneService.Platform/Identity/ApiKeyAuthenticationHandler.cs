using System.Text.Encodings.Web;
using FineTuneService.Platform.Http;
using FineTuneService.Platform.Persistence;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Identity;

/// <summary><c>Authorization: Bearer fts_…</c>, the only way an API request carries a key (never a cookie, never the
/// query string), so a browser cannot be made to send one cross-site. Refusals are problem details with a code.</summary>
sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeys keys,
    IProblemDetailsService problems) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    const string BearerPrefix = "Bearer ";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
            return keys.IsOpenFor(Context.Connection.RemoteIpAddress) ? Success(Caller.Open) : AuthenticateResult.NoResult();
        if (!header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) || header.Length == BearerPrefix.Length)
            return AuthenticateResult.Fail(new ApiKeyRejectedException(ProblemCodes.ApiKeyInvalid, "Send the key as 'Authorization: Bearer <key>'."));
        try
        {
            var db = Context.RequestServices.GetRequiredService<AppDbContext>();
            return Success(await keys.ValidateAsync(header[BearerPrefix.Length..].Trim(), db, Context.RequestAborted));
        }
        catch (ApiKeyRejectedException e) { return AuthenticateResult.Fail(e); }
    }

    AuthenticateResult Success(Caller caller) => AuthenticateResult.Success(new AuthenticationTicket(caller.ToPrincipal(SchemeName), SchemeName));

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var rejected = (await HandleAuthenticateOnceSafeAsync()).Failure as ApiKeyRejectedException;
        Response.Headers.WWWAuthenticate = "Bearer";
        await ProblemExceptionHandler.WriteAsync(problems, Context,
            rejected ?? new ProblemException(ProblemCodes.ApiKeyRequired, "Send 'Authorization: Bearer <key>'."));
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        await ProblemExceptionHandler.WriteAsync(problems, Context, new ProblemException(ProblemCodes.Forbidden,
            $"A {Caller.From(Context.User)?.Role ?? "anonymous"} key cannot {Request.Method} {Request.Path}."));
}
