using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace FineTuneService.Api.Tests;

/// <summary>Debian's chromium, found by path (Playwright's own browsers cannot be downloaded here). Installed with
/// apt-get when missing and the test run is root, as CI is; otherwise the tests fail saying what to install.</summary>
static class Chromium
{
    static readonly Lazy<string> Path = new(Find);

    public static string ExecutablePath => Path.Value;

    static string Find()
    {
        string[] candidates = [Environment.GetEnvironmentVariable("FTS_CHROMIUM") ?? "", "/usr/bin/chromium", "/usr/bin/chromium-browser"];
        if (candidates.FirstOrDefault(File.Exists) is { } found) return found;
        Debian.Install("chromium", "The dashboard's browser tests drive Chromium", "set FTS_CHROMIUM to a Chromium or Chrome executable");
        return File.Exists("/usr/bin/chromium") ? "/usr/bin/chromium" : throw new InvalidOperationException("apt-get install chromium left no /usr/bin/chromium");
    }
}

/// <summary>The Api host as a real process in embedded mode (SQLite, in-process worker) on a port the browser can
/// reach, the tiny model imported, and one headless Chromium.</summary>
public sealed class DashboardFactory : ApiFactory
{
    HostProcess? host;
    IPlaywright? playwright;

    public Uri Url { get; private set; } = null!;
    public HttpClient Api { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public Guid ModelId { get; private set; }
    internal string HostLog => host?.Log ?? "";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        host = StartEmbedded();
        Url = await host.UrlAsync(TimeSpan.FromSeconds(120));
        Api = new HttpClient { BaseAddress = Url };
        ModelId = await SeededApiFactory.Created(Api.PostAsync("/models/import",
            TestData.ModelParts(TestData.TinyModel, "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json")));
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium.ExecutablePath, Headless = true });
    }

    public override async ValueTask DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        playwright?.Dispose();
        Api?.Dispose();
        host?.Dispose();
        await base.DisposeAsync();
    }
}

/// <summary>The dashboard in a real browser: a job made with the new-job form, its loss curve growing while it trains,
/// cancel, and the playground on a fine-tuned model.</summary>
public class DashboardTests(DashboardFactory factory) : IClassFixture<DashboardFactory>
{
    static readonly float Timeout = 60_000;

    async Task<IPage> Open(string hash)
    {
        var page = await factory.Browser.NewPageAsync(new() { ViewportSize = new() { Width = 1360, Height = 1000 } });
        page.SetDefaultTimeout(Timeout);
        await page.GotoAsync(new Uri(factory.Url, "/" + hash).ToString());
        return page;
    }

    static async Task<int> Points(IPage page, string metric) =>
        int.Parse(await page.Locator($".chart[data-metric='{metric}']").GetAttributeAsync("data-points") ?? "0");

    [Fact]
    public async Task New_job_form_shows_api_errors_on_their_field_then_the_job_page_draws_a_growing_loss_curve_and_cancels()
    {
        var page = await Open("#/new");
        await page.Locator("#dataset-file").SetInputFilesAsync(new FilePayload
        {
            Name = "reviews.csv", MimeType = "text/csv", Buffer = TestData.SentimentCsv(48, seed: 1),
        });
        await Assertions.Expect(page.Locator("#dataset-summary")).ToContainTextAsync("48 rows");
        await Assertions.Expect(page.Locator("#dataset-preview tbody tr")).ToHaveCountAsync(5);
        Assert.Equal("text", await page.Locator("#column-text").InputValueAsync());
        Assert.Equal("label", await page.Locator("#column-label").InputValueAsync());
        await page.Locator("#base-model").SelectOptionAsync(factory.ModelId.ToString());
        // The defaults shown are Hugging Face's.
        Assert.Equal("default: 0.00005", await page.Locator("[name=learning_rate]").GetAttributeAsync("placeholder"));
        await page.Locator("[name=learning_rate]").FillAsync("5");
        await page.Locator("#create-job").ClickAsync();
        await Assertions.Expect(page.Locator("[data-error-for='hyperparameters.learning_rate']")).ToContainTextAsync("(0, 1]");

        await page.Locator("[name=learning_rate]").FillAsync("0.001");
        await page.Locator("[name=max_steps]").FillAsync("5000");
        await page.Locator("[name=logging_steps]").FillAsync("10");
        await page.Locator("[name=max_seq_length]").FillAsync("16");
        await page.Locator("[name=save_strategy]").SelectOptionAsync("no");
        await page.Locator("#create-job").ClickAsync();
        await page.WaitForURLAsync("**/#/jobs/*");
        var id = page.Url[(page.Url.LastIndexOf('/') + 1)..];

        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("running");
        await page.WaitForFunctionAsync("() => +document.querySelector(\".chart[data-metric='loss']\")?.dataset.points >= 2", null, new() { Timeout = Timeout });
        var before = await Points(page, "loss");
        await page.WaitForFunctionAsync($"() => +document.querySelector(\".chart[data-metric='loss']\").dataset.points > {before}", null, new() { Timeout = Timeout });
        Assert.True(await page.Locator(".chart[data-metric='learning_rate']").IsVisibleAsync());
        Assert.Matches(@"step \d+ / 5000 .* remaining \d+:\d\d", await page.Locator("#progress-text").TextContentAsync());

        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("cancelled", new() { Timeout = Timeout });
        await Assertions.Expect(page.Locator("#events")).ToContainTextAsync("Cancelled.");
        var job = await factory.Api.GetFromJsonAsync<JsonElement>($"/jobs/{id}");
        Assert.Equal("cancelled", job.GetProperty("status").GetString());
        Assert.True(job.GetProperty("progress").GetProperty("step").GetInt32() < 5000);

        // The jobs list filters by status.
        await page.GotoAsync(new Uri(factory.Url, "/#/jobs?status=cancelled").ToString());
        await Assertions.Expect(page.Locator($"tr[data-job='{id}'] [data-status]")).ToHaveTextAsync("cancelled");
        await page.GotoAsync(new Uri(factory.Url, "/#/jobs?status=running").ToString());
        await Assertions.Expect(page.Locator("#jobs tbody")).ToContainTextAsync("No jobs yet.");
    }

    [Fact]
    public async Task Playground_predicts_with_the_fine_tuned_model_and_the_job_page_shows_every_eval_curve()
    {
        var train = await SeededApiFactory.Created(factory.Api.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(48, seed: 1), "train.csv")));
        var validation = await SeededApiFactory.Created(factory.Api.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(16, seed: 2), "validation.csv")));
        var spec = TestData.FineTuneSpec(train, validation, factory.ModelId, new Dictionary<string, object?>
        {
            ["num_train_epochs"] = 8, ["learning_rate"] = 2e-3, ["per_device_train_batch_size"] = 8, ["max_seq_length"] = 16,
            ["logging_steps"] = 2, ["eval_strategy"] = "epoch", ["save_strategy"] = "epoch", ["save_total_limit"] = 2, ["seed"] = 7,
        });
        spec["name"] = "sentiment";
        var id = await SeededApiFactory.Accepted(factory.Api.PostAsJsonAsync("/jobs", spec));
        var job = await Poll.Succeeded(factory.Api, id, () => factory.HostLog);

        var page = await Open($"#/jobs/{id}");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("succeeded");
        foreach (var metric in new[] { "loss", "learning_rate", "eval_accuracy", "eval_f1" })
            await Assertions.Expect(page.Locator($".chart[data-metric='{metric}']")).ToBeVisibleAsync();
        await page.WaitForFunctionAsync("() => +document.querySelector(\".chart[data-metric='loss']\")?.dataset.points === 24");
        await Assertions.Expect(page.Locator("#checkpoints tbody tr")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#hyperparameters")).ToContainTextAsync("lr_scheduler_type");
        await Assertions.Expect(page.Locator("#progress-text")).ToContainTextAsync("step 48 / 48");
        var screenshot = Environment.GetEnvironmentVariable("FTS_DASHBOARD_SCREENSHOT") is { Length: > 0 } path
            ? Path.GetFullPath(path, RepoPaths.Root) : Path.Combine(factory.StorageRoot, "dashboard-job.png");
        await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });

        await page.Locator("a", new() { HasText = "result model" }).ClickAsync();
        await Assertions.Expect(page.Locator("#playground")).ToBeVisibleAsync();
        await page.Locator("#playground-text").FillAsync("the film was really superb");
        await page.Locator("#predict").ClickAsync();
        await Assertions.Expect(page.Locator("#playground-result")).ToHaveAttributeAsync("data-kind", "sequence_classification");
        await Assertions.Expect(page.Locator("#playground-result .score")).ToHaveCountAsync(2);
        Assert.Contains(await page.Locator("#playground-result .label").TextContentAsync(), new[] { "pos", "neg" });
        Assert.Equal(job.GetProperty("result_model_id").GetString(), page.Url[(page.Url.LastIndexOf('/') + 1)..]);
    }
}
