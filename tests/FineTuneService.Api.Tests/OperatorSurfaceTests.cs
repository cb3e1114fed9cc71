using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;

namespace FineTuneService.Api.Tests;

/// <summary>The Hangfire dashboard's sign-in, Swagger's Bearer scheme, the host check and the cross-site guard.</summary>
public class OperatorSurfaceTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    HttpClient Browser()
    {
        var browser = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        browser.DefaultRequestHeaders.Authorization = null;
        return browser;
    }

    static async Task<HttpResponseMessage> SignIn(HttpClient browser, string key, bool withToken = true)
    {
        var form = await (await browser.GetAsync("/hangfire/login")).Content.ReadAsStringAsync();
        var token = Regex.Match(form, "name=\"([^\"]+)\" value=\"([^\"]+)\"");
        Assert.True(token.Success, form);
        var fields = new Dictionary<string, string> { ["key"] = key };
        if (withToken) fields[token.Groups[1].Value] = WebUtility.HtmlDecode(token.Groups[2].Value);
        return await browser.PostAsync("/hangfire/login", new FormUrlEncodedContent(fields));
    }

    [Fact]
    public async Task The_hangfire_dashboard_takes_an_admin_key_once_and_keeps_an_http_only_strict_cookie()
    {
        using var browser = Browser();
        var first = await browser.GetAsync("/hangfire");
        Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
        Assert.StartsWith("/hangfire/login", first.Headers.Location!.PathAndQuery);

        Assert.Equal(HttpStatusCode.BadRequest, (await SignIn(browser, ApiFactory.AdminKey, withToken: false)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SignIn(browser, factory.MemberKey)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SignIn(browser, "fts_not_a_key")).StatusCode);
        var signedIn = await SignIn(browser, ApiFactory.AdminKey);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        var cookie = signedIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("fts_dashboard=")).ToLowerInvariant();
        Assert.Contains("httponly", cookie);
        Assert.Contains("samesite=strict", cookie);
        Assert.Contains("path=/hangfire", cookie);
        Assert.DoesNotContain(ApiFactory.AdminKey.ToLowerInvariant(), cookie);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/hangfire")).StatusCode);
        // The cookie is the dashboard's only: the API takes keys from the Authorization header alone.
        await (await browser.GetAsync("/datasets")).AssertProblem(HttpStatusCode.Unauthorized);

        // A stored admin key's session ends when the key is revoked.
        using var admin = factory.Client(ApiFactory.AdminKey);
        var stored = await admin.PostAsJsonAsync($"/tenants/{factory.TenantId}/keys", new { name = "ops", role = "admin" });
        var key = await SeededApiFactory.Json(stored);
        using var operatorBrowser = Browser();
        Assert.Equal(HttpStatusCode.Redirect, (await SignIn(operatorBrowser, key.GetProperty("key").GetString()!)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await operatorBrowser.GetAsync("/hangfire")).StatusCode);
        await admin.DeleteAsync($"/tenants/{factory.TenantId}/keys/{key.GetProperty("id").GetString()}");
        Assert.Equal(HttpStatusCode.Redirect, (await operatorBrowser.GetAsync("/hangfire")).StatusCode);

        // With a header instead: admin yes, anything less no.
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/hangfire")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await factory.CreateClient().GetAsync("/hangfire")).StatusCode);
    }

    [Fact]
    public async Task Swagger_declares_the_bearer_scheme_for_its_authorize_button()
    {
        var document = await factory.Client(null).GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer");
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());
        Assert.True(document.GetProperty("security")[0].TryGetProperty("bearer", out _), document.GetProperty("security").ToString());
    }

    [Fact]
    public async Task Other_hosts_and_cross_site_writes_are_refused_with_problem_details()
    {
        using var client = factory.CreateClient();
        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/datasets") { Headers = { Host = "evil.example" } };
        Assert.Equal("host_not_allowed", (await (await client.SendAsync(rebound)).AssertProblem(HttpStatusCode.BadRequest)).GetProperty("code").GetString());
        foreach (var (header, value) in new[] { ("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Site", "same-site"), ("Origin", "http://evil.example") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/jobs/{Guid.NewGuid()}/cancel") { Headers = { { header, value } } };
            Assert.Equal("cross_site_request", (await (await client.SendAsync(request)).AssertProblem(HttpStatusCode.Forbidden)).GetProperty("code").GetString());
        }
        using var sameOrigin = new HttpRequestMessage(HttpMethod.Post, $"/jobs/{Guid.NewGuid()}/cancel") { Headers = { { "Sec-Fetch-Site", "same-origin" } } };
        await (await client.SendAsync(sameOrigin)).AssertProblem(HttpStatusCode.NotFound);
    }
}
