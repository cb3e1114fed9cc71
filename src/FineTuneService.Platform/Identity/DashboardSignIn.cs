using System.Net;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Storage;
using Hangfire;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FineTuneService.Platform.Identity;

/// <summary>The Hangfire dashboard for admins in a browser: an admin key posted once to <c>/hangfire/login</c> (an
/// anti-forgery protected form) becomes an HttpOnly, SameSite=Strict cookie that only the dashboard accepts; the key
/// itself is never put in a cookie. <c>Authorization: Bearer</c> works too.</summary>
public static class DashboardSignIn
{
    const string CookieScheme = "DashboardCookie";
    const string Scheme = "Dashboard";
    const string DashboardPath = "/hangfire";
    const string LoginPath = "/hangfire/login";

    public static WebApplicationBuilder AddHangfireSignIn(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddAntiforgery(options => options.Cookie.SameSite = SameSiteMode.Strict);
        // Api replicas share the artifacts volume, so a cookie one signs the others read.
        var root = Path.GetFullPath(builder.Configuration["Storage:Root"] ?? new StorageOptions().Root);
        services.AddDataProtection().SetApplicationName("FineTuneService").PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(root, "data-protection")));
        services.AddAuthentication()
            .AddCookie(CookieScheme, options =>
            {
                options.Cookie.Name = "fts_dashboard";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Strict;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.Cookie.Path = DashboardPath;
                options.ExpireTimeSpan = TimeSpan.FromHours(8);
                options.SlidingExpiration = true;
                options.LoginPath = LoginPath;
                options.Events.OnRedirectToAccessDenied = context =>
                {
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return Task.CompletedTask;
                };
                // A revoked or expired key ends its dashboard session at the next request.
                options.Events.OnValidatePrincipal = async context =>
                {
                    if (Caller.From(context.Principal!) is not { KeyId: { } keyId }) return;
                    var db = context.HttpContext.RequestServices.GetRequiredService<AppDbContext>();
                    var now = DateTime.UtcNow;
                    if (!db.ApiKeys.Any(k => k.Id == keyId && k.RevokedAt == null && (k.ExpiresAt == null || k.ExpiresAt > now)))
                    {
                        context.RejectPrincipal();
                        await context.HttpContext.SignOutAsync(CookieScheme);
                    }
                };
            })
            .AddPolicyScheme(Scheme, null, options => options.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.Count > 0
                || context.RequestServices.GetRequiredService<ApiKeys>().IsOpenFor(context.Connection.RemoteIpAddress)
                    ? ApiKeyAuthenticationHandler.SchemeName : CookieScheme);
        services.AddAuthorizationBuilder().AddPolicy(Policies.Dashboard, policy => policy.AddAuthenticationSchemes(Scheme).RequireRole(Roles.Admin));
        return builder;
    }

    public static WebApplication MapHangfireWithSignIn(this WebApplication app)
    {
        app.MapGet(LoginPath, Form).AllowAnonymous().ExcludeFromDescription();
        app.MapPost(LoginPath, SignIn).AllowAnonymous().ExcludeFromDescription().DisableAntiforgery();
        // The policy is the dashboard's only gate (Hangfire's own local-requests filter is replaced); its POSTs carry
        // Hangfire's anti-forgery token, since IAntiforgery is registered.
        app.MapHangfireDashboard(DashboardPath, new DashboardOptions { Authorization = [], AppPath = "/" }).RequireAuthorization(Policies.Dashboard);
        return app;
    }

    static IResult Form(HttpContext context, IAntiforgery antiforgery) => Page(context, antiforgery, StatusCodes.Status200OK, null);

    static async Task<IResult> SignIn(HttpContext context, IAntiforgery antiforgery, ApiKeys keys, AppDbContext db, ILogger<ApiKeys> logger)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
            return Page(context, antiforgery, StatusCodes.Status400BadRequest, "The form expired; sign in again.");
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        Caller caller;
        try { caller = await keys.ValidateAsync(form["key"].ToString().Trim(), db, context.RequestAborted); }
        catch (ApiKeyRejectedException e) { return Page(context, antiforgery, StatusCodes.Status401Unauthorized, e.Message); }
        if (!caller.IsAdmin) return Page(context, antiforgery, StatusCodes.Status403Forbidden, "The dashboard needs an admin key.");
        await context.SignInAsync(CookieScheme, caller.ToPrincipal(CookieScheme));
        logger.LogInformation("Dashboard sign-in by {Caller}", caller.ToString());
        return Results.Redirect(DashboardPath);
    }

    static IResult Page(HttpContext context, IAntiforgery antiforgery, int status, string? error)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var message = error is null ? "" : $"<p role=\"alert\">{WebUtility.HtmlEncode(error)}</p>";
        return Results.Content($"""
            <!doctype html><html><head><meta charset="utf-8"><title>FineTuneService dashboard</title></head>
            <body><h1>Hangfire dashboard</h1>{message}
            <form method="post" action="{LoginPath}">
            <label>Admin API key <input type="password" name="key" autocomplete="off" required></label>
            <input type="hidden" name="{WebUtility.HtmlEncode(tokens.FormFieldName)}" value="{WebUtility.HtmlEncode(tokens.RequestToken)}">
            <button type="submit">Sign in</button></form></body></html>
            """, "text/html", System.Text.Encoding.UTF8, status);
    }
}
