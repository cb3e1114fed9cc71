using FineTuneService.Platform.Hosting;
using FineTuneService.Platform.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serilog.Context;

namespace FineTuneService.Platform.Identity;

/// <summary>Identity for every host: API keys, the authorization policies (with a fallback, so an endpoint that names
/// none still needs a key), the host-name check and the cross-site guard, and the start-up rules of open mode.</summary>
public static class IdentityExtensions
{
    static readonly string[] LoopbackHosts = ["localhost", "127.0.0.1", "[::1]"];
    const int MinBootstrapKeyLength = 24;

    public static WebApplicationBuilder AddPlatformIdentity(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<AuthOptions>().BindConfiguration("Auth").ValidateDataAnnotations()
            .Validate<IConfiguration>((auth, configuration) => !string.IsNullOrEmpty(auth.BootstrapAdminKey) || configuration.IsEmbedded(),
                "ConnectionStrings:Postgres is set (production) but Auth:BootstrapAdminKey is not: set it (Auth__BootstrapAdminKey) to require API keys")
            .Validate(auth => auth.BootstrapAdminKey is not { Length: > 0 and < MinBootstrapKeyLength },
                $"Auth:BootstrapAdminKey: at least {MinBootstrapKeyLength} characters, e.g. fts_ and 48 random hex digits")
            .ValidateOnStart();
        services.AddSingleton<ApiKeys>();
        services.AddHttpContextAccessor();
        services.AddScoped(provider => new TenantScope(provider.GetRequiredService<IHttpContextAccessor>()));
        services.AddHostedService<OpenModeGuard>();
        // Host names are checked by HostCheck (problem details, one list); the built-in filter would answer HTML first.
        services.PostConfigure<HostFilteringOptions>(options => options.AllowedHosts = ["*"]);

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Read, policy => policy.RequireRole(Roles.Readers))
            .AddPolicy(Policies.Write, policy => policy.RequireRole(Roles.Writers))
            .AddPolicy(Policies.Inference, policy => policy.RequireRole(Roles.All))
            .AddPolicy(Policies.Admin, policy => policy.RequireRole(Roles.Admin))
            .AddPolicy(Policies.TenantData, ByMethod)
            // Endpoints that name no policy. Requests that reach no endpoint (Swagger UI, 404s) are middleware's to answer.
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAssertion(context =>
                context.Resource is HttpContext http && http.GetEndpoint() is null || AllowedByMethod(context)).Build());
        return builder;
    }

    static void ByMethod(AuthorizationPolicyBuilder policy) => policy.RequireAssertion(AllowedByMethod);

    static bool AllowedByMethod(AuthorizationHandlerContext context) =>
        context.Resource is HttpContext http && Caller.From(context.User) is { } caller
        && (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method) ? Roles.Readers : Roles.Writers).Contains(caller.Role);

    /// <summary>After the exception handler: host check, cross-site guard, authentication, the caller in the log
    /// context, authorization.</summary>
    public static WebApplication UsePlatformIdentity(this WebApplication app)
    {
        var allowedHosts = app.Configuration["AllowedHosts"] is { Length: > 0 } configured
            ? configured.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : LoopbackHosts;
        app.Use((context, next) =>
        {
            if (!HostAllowed(context.Request.Host.Host, allowedHosts))
            {
                throw new ProblemException(ProblemCodes.HostNotAllowed, $"'{context.Request.Host.Host}' is not in AllowedHosts.");
            }

            if (IsCrossSite(context.Request))
            {
                throw new ProblemException(ProblemCodes.CrossSiteRequest, "A browser sent this request from another site.");
            }

            return next(context);
        });
        app.UseAuthentication();
        app.Use(async (context, next) =>
        {
            if (Caller.From(context.User) is not { } caller)
            {
                await next(context);
                return;
            }
            // Every log line of the request names who made it; never the key itself.
            using (LogContext.PushProperty("KeyName", caller.KeyName))
            using (LogContext.PushProperty("TenantId", caller.TenantId))
                await next(context);
        });
        app.UseAuthorization();
        return app;
    }

    /// <summary>"*" allows any host; "*.example.com" its subdomains; otherwise an exact name (ports are not compared).
    /// Keeps DNS rebinding from reaching a service that answers only on this machine.</summary>
    static bool HostAllowed(string host, string[] allowed) => allowed.Any(pattern =>
        pattern == "*" || string.Equals(pattern, host, StringComparison.OrdinalIgnoreCase)
        || pattern.StartsWith("*.", StringComparison.Ordinal) && host.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase));

    /// <summary>A state-changing request a browser sent from another site (Fetch Metadata, or an Origin that is not this
    /// host). Keys travel only in a header a cross-site page cannot set; this also guards open mode and the dashboard cookie.</summary>
    static bool IsCrossSite(HttpRequest request)
    {
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method)) return false;
        if (request.Headers["Sec-Fetch-Site"].ToString() is { Length: > 0 } site) return site is "cross-site" or "same-site";
        return request.Headers.Origin.ToString() is { Length: > 0 } origin
            && !(Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Health and metrics as <c>Auth:Health</c> and <c>Auth:Metrics</c> say: public, or an admin key.</summary>
    public static TBuilder WithExposure<TBuilder>(this TBuilder endpoint, Exposure exposure) where TBuilder : IEndpointConventionBuilder =>
        exposure == Exposure.Public ? endpoint.AllowAnonymous() : endpoint.RequireAuthorization(Policies.Admin);

    /// <summary>Open mode must not be reachable from the network: with any non-loopback address bound, the host stops.</summary>
    sealed class OpenModeGuard(ApiKeys keys, IServer server, ILogger<OpenModeGuard> logger) : IHostedLifecycleService
    {
        public Task StartedAsync(CancellationToken cancellationToken)
        {
            if (!keys.Open) return Task.CompletedTask;
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var exposed = addresses.Where(a => !IsLoopback(a)).ToList();
            if (exposed.Count > 0)
            {
                logger.LogCritical("Open mode (embedded, no Auth:BootstrapAdminKey) listens only on loopback, but {Addresses} is bound: set Auth:BootstrapAdminKey to require keys", string.Join(", ", exposed));
                throw new InvalidOperationException($"Open mode refuses to listen on {string.Join(", ", exposed)}: set Auth:BootstrapAdminKey (Auth__BootstrapAdminKey) to require API keys.");
            }
            logger.LogWarning("Running open: requests from this machine need no API key (embedded mode on {Addresses}). Set Auth:BootstrapAdminKey to require keys", string.Join(", ", addresses));
            return Task.CompletedTask;
        }

        static bool IsLoopback(string address) =>
            Uri.TryCreate(address.Replace("://+", "://0.0.0.0").Replace("://*", "://0.0.0.0"), UriKind.Absolute, out var uri)
            && (uri.IsLoopback || LoopbackHosts.Contains(uri.Host, StringComparer.OrdinalIgnoreCase));

        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
