using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuneService.Platform.Http;
using FineTuneService.Platform.Persistence;
using FineTuneService.Training.Jobs;
using FineTuneService.Training.Models;
using FineTuneService.Training.Trainer;

namespace FineTuneService.Api.Tests;

/// <summary>The OpenAPI document describes what the handlers really take and answer: bodies, file pickers, enums,
/// every hyperparameter with its Hugging Face default, and the error responses.</summary>
public class OpenApiTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    async Task<JsonElement> Document() => await factory.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

    static IEnumerable<(string Path, string Method, JsonElement Operation)> Operations(JsonElement document) =>
        document.GetProperty("paths").EnumerateObject().SelectMany(path => path.Value.EnumerateObject().Select(op => (path.Name, op.Name, op.Value)));

    [Fact]
    public async Task Every_operation_has_a_description_its_body_and_its_error_responses()
    {
        var document = await Document();
        Assert.False(string.IsNullOrWhiteSpace(document.GetProperty("info").GetProperty("description").GetString()));
        foreach (var (path, method, operation) in Operations(document))
        {
            var name = $"{method.ToUpperInvariant()} {path}";
            Assert.True(operation.TryGetProperty("summary", out _), $"{name} has no summary");
            var responses = operation.GetProperty("responses");
            if (path.Contains("{id}")) Assert.True(responses.TryGetProperty("404", out _), $"{name} does not describe its 404");
            foreach (var error in responses.EnumerateObject().Where(r => r.Name[0] is '4' or '5'))
                Assert.True(error.Value.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{name} {error.Name} is not problem details");
            if (method == "post" && !path.EndsWith("/cancel") && !path.EndsWith("/pause") && !path.EndsWith("/resume") && !path.EndsWith("/revoke"))
                Assert.True(operation.TryGetProperty("requestBody", out _), $"{name} declares no request body");
        }
    }

    [Fact]
    public async Task Every_operation_declares_401_and_403_and_the_problem_code_lists_the_vocabulary()
    {
        var document = await Document();
        foreach (var (path, method, operation) in Operations(document))
        {
            var responses = operation.GetProperty("responses");
            Assert.True(responses.TryGetProperty("401", out _) && responses.TryGetProperty("403", out _), $"{method.ToUpperInvariant()} {path} does not declare 401 and 403");
        }
        var codes = document.GetProperty("components").GetProperty("schemas").GetProperty("ProblemDetails").GetProperty("properties")
            .GetProperty("code").GetProperty("enum").EnumerateArray().Select(e => e.GetString());
        Assert.Equal(ProblemCodes.All.Select(c => c.Code), codes);
        Assert.Contains("storage_quota_exceeded", codes);
    }

    /// <summary>Every operation of the document, asked what clients get wrong (ids that do not exist, a model still
    /// importing, no body, a body that is not JSON, an empty object, a predict body), answers only errors its entry lists,
    /// and each lists the 503 of a database outage; deletes last.</summary>
    [Fact]
    public async Task Every_error_an_operation_answers_is_listed_in_its_entry()
    {
        var document = await Document();
        var importing = Guid.NewGuid();
        using (var db = factory.Db())
        {
            db.Models.Add(new Model
            {
                Id = importing, TenantId = factory.TenantId, Name = "still importing", Path = $"models/{importing:N}", Status = ModelStatus.Importing,
                CreatedAt = DateTime.UtcNow,
            });
            await db.SaveChangesAsync();
        }
        using var admin = factory.Client(ApiFactory.AdminKey);
        var undeclared = new List<string>();
        var asked = 0;
        foreach (var (path, method, operation) in Operations(document).OrderBy(o => o.Method == "delete"))
        {
            var declared = operation.GetProperty("responses").EnumerateObject().Select(r => r.Name).ToHashSet();
            // Every key is checked against the database, so any operation may find it down.
            if (!declared.Contains("503")) undeclared.Add($"{method.ToUpperInvariant()} {path}: no 503");
            string?[] bodies = method is "get" or "delete" ? [null] : [null, "not json", "{}", """{"inputs": "hello"}"""];
            foreach (var id in new[] { Guid.NewGuid(), importing })
            {
                foreach (var body in bodies)
                {
                    var url = System.Text.RegularExpressions.Regex.Replace(path, @"\{[^}]+\}", id.ToString());
                    using var request = new HttpRequestMessage(new HttpMethod(method), url)
                    {
                        Content = body is null ? null : new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
                    };
                    using var response = await admin.SendAsync(request);
                    var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    asked++;
                    if (status[0] is '4' or '5' && !declared.Contains(status))
                        undeclared.Add($"{method.ToUpperInvariant()} {path} (id {(id == importing ? "importing" : "missing")}, body {body ?? "none"}): {status}");
                }
            }
        }
        Assert.True(asked > 60, $"{asked} requests");
        Assert.True(undeclared.Count == 0, "answers the document does not list:\n" + string.Join("\n", undeclared));
    }

    [Fact]
    public async Task Uploads_are_multipart_with_binary_file_parts_and_predict_and_tokenize_have_typed_bodies()
    {
        var document = await Document();
        var schemas = document.GetProperty("components").GetProperty("schemas");
        JsonElement Body(string path, string mediaType)
        {
            var schema = document.GetProperty("paths").GetProperty(path).GetProperty("post").GetProperty("requestBody")
                .GetProperty("content").GetProperty(mediaType).GetProperty("schema");
            return schema.TryGetProperty("$ref", out var reference) ? schemas.GetProperty(reference.GetString()!.Split('/')[^1]) : schema;
        }
        Assert.Equal("binary", Body("/datasets", "multipart/form-data").GetProperty("properties").GetProperty("file").GetProperty("format").GetString());
        Assert.Equal("binary", Body("/models/import", "multipart/form-data").GetProperty("properties").GetProperty("files").GetProperty("items").GetProperty("format").GetString());
        Assert.Equal(4, Body("/models/{id}/predict", "application/json").GetProperty("properties").GetProperty("inputs").GetProperty("oneOf").GetArrayLength());
        Assert.True(Body("/models/{id}/tokenize", "application/json").GetProperty("properties").TryGetProperty("truncation", out _));

        var spec = Body("/jobs", "application/json").GetProperty("properties");
        Assert.Equal(["finetune", "pretrain"], spec.GetProperty("type").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("token_classification", spec.GetProperty("task").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("running", schemas.GetProperty("JobStatus").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("validation_failed", schemas.GetProperty("HttpValidationProblemDetails").GetProperty("properties").GetProperty("code").GetProperty("enum")[0].GetString());
    }

    [Fact]
    public async Task Hyperparameters_schema_lists_every_accepted_name_with_type_description_and_hugging_face_default()
    {
        var schema = (await Document()).GetProperty("components").GetProperty("schemas").GetProperty("Hyperparameters").GetProperty("properties");
        Assert.Equal(TrainingArguments.Names.Union(TaskCatalogue.TaskHyperparameters).Order(), schema.EnumerateObject().Select(p => p.Name).Order());
        var defaults = new TrainingArguments().ToJson();
        foreach (var property in schema.EnumerateObject())
        {
            Assert.True(property.Value.TryGetProperty("type", out _), property.Name);
            Assert.False(string.IsNullOrWhiteSpace(property.Value.GetProperty("description").GetString()), property.Name);
            if (defaults[property.Name] is { } value)
                Assert.True(JsonNode.DeepEquals(value, JsonNode.Parse(property.Value.GetProperty("default").GetRawText())), property.Name);
        }
        Assert.Equal(8192, schema.GetProperty("max_seq_length").GetProperty("maximum").GetInt32());
        Assert.True(schema.GetProperty("learning_rate").GetProperty("exclusiveMinimum").GetBoolean());
        Assert.Contains("cosine", schema.GetProperty("lr_scheduler_type").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("mlm_nsp", schema.GetProperty("short_seq_prob").GetProperty("description").GetString());
    }
}
