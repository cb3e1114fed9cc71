using System.Text.Json.Nodes;
using FineTuneService.Platform.Http;
using FineTuneService.Platform.Identity;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Registry;
using FineTuneService.Platform.Storage;
using FineTuneService.Training.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Serving;

public static class PredictEndpoints
{
    public static RouteGroupBuilder MapPredictEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/models").WithTags("Inference").RequireKey(Policies.Inference)
            .RequireRateLimiting(InferenceExtensions.RateLimitPolicy).WithProblems(429);
        group.MapPost("/{id:guid}/predict", Predict).WithName("Predict")
            .WithRequestBody<PredictBody>("application/json").WithProblems(400, 404, 409)
            .WithSummary("Predict with a model: labels and scores, a regression value, entities, [MASK] fillings or generated text")
            .WithDescription("What comes back per input depends on the model's head (`kind`): `label`, `score`, `scores` (classification; " +
                "multi-label adds `labels`), `value` (regression), `entities` (token classification), `masks` (masked LM), " +
                "`generated_text` and `new_tokens` (causal LM). Concurrent requests are batched.");
        group.MapPost("/{id:guid}/tokenize", Tokenize).WithName("Tokenize")
            .WithRequestBody<TokenizeBody>("application/json").WithProblems(400, 404, 409)
            .WithSummary("Token ids, tokens, offsets and type ids per input, as the model's tokenizer makes them");
        return group;
    }

    static async Task<Ok<PredictResponse>> Predict(Guid id, HttpRequest request, ModelCache cache, DynamicBatcher batcher,
        IServiceProvider services, IOptions<InferenceOptions> options, CancellationToken cancellationToken)
    {
        var body = await PredictRequest.ReadBodyAsync(request, cancellationToken);
        var (inputs, predictOptions) = PredictRequest.ParsePredict(body, options.Value);
        using var lease = await AcquireAsync(id, cache, services, cancellationToken);
        EncodedInput[] encoded;
        try
        {
            encoded = lease.Model.Encode(inputs);
        }
        catch (PredictInputException e)
        {
            // The model names the input by its index; a request that sent one input, not a list, calls it "inputs".
            var field = e.Input is not { } i ? "model" : (body["inputs"] is JsonArray ? $"inputs[{i}]" : "inputs") + (e.Part is null ? "" : $".{e.Part}");
            throw new RequestValidationException(field, e.Message);
        }
        PredictRequest.CheckEncoded([.. encoded.Select(e => e.Length)], i => lease.Model.MaskCount(encoded[i]),
            predictOptions.TopK ?? PredictOptions.DefaultMaskCandidates, single: body["inputs"] is not JsonArray, options.Value);
        var predictions = await batcher.PredictAsync(lease.Model, encoded, predictOptions, cancellationToken);
        return TypedResults.Ok(new PredictResponse(id, lease.Model.Kind, [.. predictions.Select(PredictionJson.ToJson)]));
    }

    static async Task<Ok<TokenizeResponse>> Tokenize(Guid id, HttpRequest request, ModelCache cache,
        IServiceProvider services, IOptions<InferenceOptions> options, CancellationToken cancellationToken)
    {
        var (inputs, maxLength, strategy, addSpecialTokens) =
            PredictRequest.ParseTokenize(await PredictRequest.ReadBodyAsync(request, cancellationToken), options.Value);
        using var lease = await AcquireAsync(id, cache, services, cancellationToken);
        var encodings = lease.Model.Tokenize(inputs, maxLength, strategy, addSpecialTokens);
        PredictRequest.CheckEncoded([.. encodings.Select(e => e.Length)], _ => 0, 0, single: false, options.Value);
        return TypedResults.Ok(new TokenizeResponse(id, [.. encodings.Select(PredictionJson.ToJson)]));
    }

    /// <summary>The cached model, or the registry's folder loaded into the cache. The database is asked on a miss, and
    /// on every call of a tenant's key: it may use only its tenant's models and shared ones (admins and open mode see all).</summary>
    static async Task<ModelLease> AcquireAsync(Guid id, ModelCache cache, IServiceProvider services, CancellationToken cancellationToken)
    {
        var everyTenant = services.GetRequiredService<TenantScope>().Filter is null;
        if (everyTenant && cache.TryAcquire(id) is { } cached)
        {
            return cached;
        }
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        var model = ModelEndpoints.Ready(await db.Models.FindAsync([id], cancellationToken) ?? throw new NotFoundException("model", id));
        if (!everyTenant && cache.TryAcquire(id) is { } allowed)
        {
            return allowed;
        }
        var dir = scope.ServiceProvider.GetRequiredService<ArtifactStore>().FullPath(model.Path);
        return await Task.Run(() => cache.Acquire(id, dir, ModelQuantization.PrecisionOf(model)), cancellationToken);
    }
}
