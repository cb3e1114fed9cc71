using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuneService.Api.Tests;

/// <summary>Issue 12, item 6: concurrent deletes, deletes under an accepted job, DELETE /jobs/{id}, paged lists.
/// No worker runs here, so a posted job stays queued.</summary>
public class RaceTests(SeededApiFactory factory) : IClassFixture<SeededApiFactory>
{
    readonly HttpClient client = factory.CreateClient();

    async Task<Guid> ImportModel() => await SeededApiFactory.Created(client.PostAsync("/models/import",
        TestData.ModelParts(TestData.TinyModel, "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json")));

    [Fact]
    public async Task Concurrent_deletes_are_one_204_and_the_rest_404()
    {
        var model = await ImportModel();
        var dataset = await SeededApiFactory.Created(client.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(8, seed: 5), "d.csv")));

        foreach (var path in new[] { $"/models/{model}", $"/datasets/{dataset}" })
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => client.DeleteAsync(path)));
            Assert.Equal([HttpStatusCode.NoContent, HttpStatusCode.NotFound, HttpStatusCode.NotFound], answers.Select(a => a.StatusCode).Order());
            foreach (var notFound in answers.Where(a => a.StatusCode == HttpStatusCode.NotFound)) await notFound.AssertProblem(HttpStatusCode.NotFound);
        }
        Assert.Empty(factory.StoredFiles(Path.Combine("models", model.ToString("N"))));
        Assert.Empty(factory.StoredFiles(Path.Combine("datasets", dataset.ToString("N"))));
    }

    [Fact]
    public async Task What_an_accepted_job_uses_cannot_be_deleted_until_it_finishes_then_the_job_can_be()
    {
        var model = await ImportModel();
        var train = await SeededApiFactory.Created(client.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(16, seed: 6), "t.csv")));
        var spec = TestData.FineTuneSpec(train, factory.ValidationDatasetId, model);
        var job = await SeededApiFactory.Accepted(client.PostAsJsonAsync("/jobs", spec));

        await (await client.DeleteAsync($"/models/{model}")).AssertProblem(HttpStatusCode.Conflict);
        await (await client.DeleteAsync($"/datasets/{train}")).AssertProblem(HttpStatusCode.Conflict);
        await (await client.DeleteAsync($"/jobs/{job}")).AssertProblem(HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/models/{model}")).StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/jobs/{job}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/models/{model}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/datasets/{train}")).StatusCode);
        var finished = await client.GetFromJsonAsync<JsonElement>($"/jobs/{job}");
        Assert.Equal(JsonValueKind.Null, finished.GetProperty("base_model_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, finished.GetProperty("train_dataset_id").ValueKind);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/jobs/{job}")).StatusCode);
        await (await client.GetAsync($"/jobs/{job}")).AssertProblem(HttpStatusCode.NotFound);
        await (await client.DeleteAsync($"/jobs/{job}")).AssertProblem(HttpStatusCode.NotFound);
        Assert.Equal(0, await factory.Db().JobEvents.CountAsync(e => e.JobId == Guid.Parse(job)));
    }

    [Fact]
    public async Task A_job_posted_against_a_model_deleted_meanwhile_is_a_400_not_a_failed_job()
    {
        var model = await ImportModel();
        var before = await factory.Db().Jobs.CountAsync();
        // Deletes and posts race; whichever wins, no job is left naming a model that is gone.
        var delete = client.DeleteAsync($"/models/{model}");
        var post = client.PostAsJsonAsync("/jobs", TestData.FineTuneSpec(factory.TrainDatasetId, factory.ValidationDatasetId, model));
        var (deleted, posted) = (await delete, await post);

        if (posted.StatusCode == HttpStatusCode.Accepted)
        {
            await deleted.AssertProblem(HttpStatusCode.Conflict);
        }
        else
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
            await posted.AssertProblem(HttpStatusCode.BadRequest, "base_model_id");
            Assert.Equal(before, await factory.Db().Jobs.CountAsync());
        }
    }

    [Fact]
    public async Task Lists_are_paged_with_a_maximum_page_size()
    {
        var page = await client.GetFromJsonAsync<JsonElement>("/datasets?page_size=1");
        Assert.Single(page.GetProperty("items").EnumerateArray());
        Assert.True(page.GetProperty("total").GetInt32() >= 2);
        Assert.Equal(1, page.GetProperty("page_size").GetInt32());
        foreach (var path in new[] { "/datasets", "/models", "/jobs" })
            await (await client.GetAsync($"{path}?page_size=501")).AssertProblem(HttpStatusCode.BadRequest, "page_size");
        var job = await SeededApiFactory.Accepted(client.PostAsJsonAsync("/jobs", factory.Spec()));
        foreach (var list in new[] { "metrics", "events", "checkpoints" })
        {
            await (await client.GetAsync($"/jobs/{job}/{list}?page_size=501")).AssertProblem(HttpStatusCode.BadRequest, "page_size");
            Assert.Equal(1, (await client.GetFromJsonAsync<JsonElement>($"/jobs/{job}/{list}?page=1")).GetProperty("page").GetInt32());
        }
    }
}
