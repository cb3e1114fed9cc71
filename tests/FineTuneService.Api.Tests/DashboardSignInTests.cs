using Microsoft.Playwright;

namespace FineTuneService.Api.Tests;

/// <summary>With keys required (PostgreSQL, a bootstrap admin key), the dashboard signs in with an API key and shows
/// only that key's tenant.</summary>
public class DashboardSignInTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task Dashboard_asks_for_a_key_then_shows_only_the_keys_tenant()
    {
        using var host = factory.StartHost("FineTuneService.Api");
        var url = await host.UrlAsync(TimeSpan.FromSeconds(120));
        using var admin = new HttpClient { BaseAddress = url, DefaultRequestHeaders = { Authorization = new("Bearer", ApiFactory.AdminKey) } };
        var other = await ApiFactory.CreateTenant(admin, "other");
        using var otherClient = new HttpClient { BaseAddress = url, DefaultRequestHeaders = { Authorization = new("Bearer", await ApiFactory.CreateKey(admin, other, "other-member", "member")) } };
        using var mine = factory.HostClient(url);
        await SeededApiFactory.Created(mine.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(8, seed: 1), "mine.csv")));
        await SeededApiFactory.Created(otherClient.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(8, seed: 2), "theirs.csv")));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium.ExecutablePath, Headless = true });
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        await page.GotoAsync(new Uri(url, "/#/datasets").ToString());
        await Assertions.Expect(page.Locator("[role=alert]")).ToBeVisibleAsync();

        await page.Locator("#api-key").FillAsync(factory.MemberKey);
        await page.Locator("#signin button").ClickAsync();
        await Assertions.Expect(page.Locator("#datasets tbody")).ToContainTextAsync("mine.csv");
        await Assertions.Expect(page.Locator("#tenant")).ToContainTextAsync("tests");
        Assert.DoesNotContain("theirs.csv", await page.Locator("#datasets").TextContentAsync());
    }
}
