using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuneService.Api.Tests;

public class WebhookFactory : SeededApiFactory
{
    // Loopback only; retries a fifth of a second apart so that two failures cost the test little.
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Webhooks:AllowedHosts"] = "127.0.0.1",
        ["Webhooks:RetryDelays"] = "0.2,0.2,0.2",
    };
}

/// <summary>A receiver on loopback (Kestrel) that records every POST and answers 500 to the first two attempts of each
/// delivery; the job trains in a worker process, which sends the webhooks.</summary>
public sealed class Receiver : IAsyncDisposable
{
    readonly WebApplication app;
    Uri? address;
    public ConcurrentQueue<(string Event, string Delivery, string Signature, string Body, int Answer)> Requests { get; } = new();
    readonly ConcurrentDictionary<string, int> attempts = new();

    Receiver(WebApplication app) => this.app = app;

    public Uri Url => new(address!, "/hooks/fts?token=abc");

    public static async Task<Receiver> StartAsync()
    {
        var app = Loopback.Build();
        var receiver = new Receiver(app);
        app.MapPost("/hooks/fts", async (HttpRequest request) =>
        {
            var body = await new StreamReader(request.Body).ReadToEndAsync();
            var delivery = request.Headers["X-FineTune-Delivery"].ToString();
            var answer = receiver.attempts.AddOrUpdate(delivery, 1, (_, n) => n + 1) <= 2 ? 500 : 200;
            receiver.Requests.Enqueue((request.Headers["X-FineTune-Event"].ToString(), delivery, request.Headers["X-FineTune-Signature"].ToString(), body, answer));
            return Results.StatusCode(answer);
        });
        receiver.address = await Loopback.StartAsync(app);
        return receiver;
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}

public class WebhookTests(WebhookFactory factory) : IClassFixture<WebhookFactory>
{
    const string Secret = "whsec-0123456789abcdef";
    readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task Signed_webhooks_are_retried_until_the_receiver_accepts_and_every_attempt_is_logged_on_the_job()
    {
        await using var receiver = await Receiver.StartAsync();
        var spec = factory.Spec();
        spec["webhooks"] = new[] { new { url = receiver.Url, secret = Secret, events = new[] { "job.succeeded", "job.checkpoint" } } };
        var id = await SeededApiFactory.Accepted(client.PostAsJsonAsync("/jobs", spec));
        var accepted = await client.GetFromJsonAsync<JsonElement>($"/jobs/{id}");
        Assert.DoesNotContain(Secret, accepted.GetRawText());
        Assert.Equal(receiver.Url.ToString(), accepted.GetProperty("webhooks")[0].GetProperty("url").GetString());

        using var worker = factory.StartWorker();
        await Poll.Succeeded(client, id, () => worker.Log);
        var requests = await Poll.Until(() => Task.FromResult(receiver.Requests.ToList()),
            r => r.Count(x => x.Event == "job.succeeded" && x.Answer == 200) == 1 && r.Count(x => x.Event == "job.checkpoint" && x.Answer == 200) == 2,
            TimeSpan.FromSeconds(60), r => string.Join("\n", r.Select(x => $"{x.Event} {x.Answer}")) + "\n" + worker.Log);

        var succeeded = requests.Where(r => r.Event == "job.succeeded").ToList();
        Assert.Equal([500, 500, 200], succeeded.Select(r => r.Answer));
        Assert.Single(succeeded.Select(r => r.Delivery).Distinct()); // one delivery id across its retries
        foreach (var (_, delivery, signature, body, _) in requests)
        {
            // t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">: what a receiver checks.
            var parts = signature.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes($"{parts["t"]}.{body}")));
            Assert.Equal(expected, parts["v1"]);
            Assert.True(Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - long.Parse(parts["t"])) < 300);
            var payload = JsonDocument.Parse(body).RootElement;
            Assert.Equal(delivery, payload.GetProperty("id").GetString());
            Assert.Equal(id, payload.GetProperty("data").GetProperty("id").GetString());
            Assert.DoesNotContain(Secret, body);
        }
        var final = JsonDocument.Parse(succeeded[^1].Body).RootElement;
        Assert.Equal("job.succeeded", final.GetProperty("type").GetString());
        Assert.Equal("succeeded", final.GetProperty("data").GetProperty("status").GetString());
        Assert.NotNull(final.GetProperty("data").GetProperty("result_model_id").GetString());

        var events = (await client.GetFromJsonAsync<JsonElement>($"/jobs/{id}/events")).GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("message").GetString()!).Where(m => m.StartsWith("Webhook job.succeeded")).ToList();
        var address = receiver.Url.GetLeftPart(UriPartial.Path);
        Assert.Equal([$"Webhook job.succeeded to {address} failed (attempt 1: HTTP 500); retrying in 0.2 s.",
            $"Webhook job.succeeded to {address} failed (attempt 2: HTTP 500); retrying in 0.2 s.",
            $"Webhook job.succeeded delivered to {address} (HTTP 200, attempt 3)."], events);
    }

    [Fact]
    public async Task Webhooks_to_hosts_outside_the_allow_list_without_a_secret_or_with_unknown_events_are_400s_naming_them()
    {
        var spec = factory.Spec();
        spec["webhooks"] = new object[]
        {
            new { url = "http://169.254.169.254/latest/meta-data", secret = Secret },
            new { url = "http://127.0.0.1:9/hook", secret = "short" },
            new { url = "ftp://127.0.0.1/hook", secret = Secret, events = new[] { "job.started" } },
        };
        var response = await client.PostAsJsonAsync("/jobs", spec);
        var problem = await response.AssertProblem(HttpStatusCode.BadRequest, "webhooks[0].url");
        var errors = problem.GetProperty("errors");
        Assert.Contains("not an allowed webhook host", errors.GetProperty("webhooks[0].url")[0].GetString());
        Assert.True(errors.TryGetProperty("webhooks[1].secret", out _));
        Assert.True(errors.TryGetProperty("webhooks[2].url", out _));
        Assert.True(errors.TryGetProperty("webhooks[2].events", out _));
    }
}
