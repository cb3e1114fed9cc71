using System.Globalization;
using System.Text.Json.Nodes;
using FineTuneService.Platform.Jobs;
using FineTuneService.Training.Trainer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace FineTuneService.Platform.Hosting;

/// <summary>The OpenAPI document at <c>/swagger/v1/swagger.json</c>: what Swagger UI shows and generated clients are
/// built from, so every body, answer and error is typed.</summary>
public static class OpenApiDocument
{
    public const string HyperparametersSchema = "Hyperparameters";

    public static IServiceCollection AddOpenApiDocument(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "FineTuneService",
                Version = "v1",
                Description = "Pretrain, fine-tune and serve transformer text models: upload datasets and Hugging Face checkpoints, " +
                    "post job specs with Hugging Face TrainingArguments names, follow jobs (metrics, events, Server-Sent Events), " +
                    "predict with the result or download it as a Hugging Face folder. JSON names are snake_case; every error is " +
                    "RFC 9457 problem details with a stable `code`.",
            });
            options.SchemaFilter<HyperparametersFilter>();
            // Swagger UI's Authorize button: paste a key, and every "Try it out" sends it as a Bearer token.
            options.AddSecurityDefinition("bearer", new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "fts_…", Description = "An API key: Authorization: Bearer fts_…",
            });
            options.AddSecurityRequirement(document => new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] });
        });
        return services;
    }

    /// <summary>A job spec's <c>hyperparameters</c>: every name the service accepts, with type, Hugging Face default,
    /// range and description from <see cref="HyperparameterCatalog"/>.</summary>
    sealed class HyperparametersFilter : ISchemaFilter
    {
        public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
        {
            if (context.Type != typeof(JobSpec) || schema is not OpenApiSchema spec || spec.Properties is null) return;
            if (!context.SchemaRepository.Schemas.ContainsKey(HyperparametersSchema))
                context.SchemaRepository.AddDefinition(HyperparametersSchema, Build());
            spec.Properties["hyperparameters"] = new OpenApiSchemaReference(HyperparametersSchema);
        }

        static OpenApiSchema Build()
        {
            var properties = new Dictionary<string, IOpenApiSchema>();
            foreach (var hp in HyperparameterCatalog.All)
            {
                var type = hp.Type switch
                {
                    "integer" => JsonSchemaType.Integer,
                    "number" => JsonSchemaType.Number,
                    "boolean" => JsonSchemaType.Boolean,
                    "array" => JsonSchemaType.Array,
                    _ => JsonSchemaType.String,
                };
                var property = new OpenApiSchema
                {
                    Type = hp.Nullable ? type | JsonSchemaType.Null : type,
                    Format = hp.Type switch { "integer" => "int32", "number" => "double", _ => null },
                    Description = hp.AppliesTo is null ? hp.Description : $"{hp.Description} Applies to {hp.AppliesTo}.",
                    Default = hp.Default?.DeepClone(),
                    Items = hp.Type == "array" ? new OpenApiSchema { Type = JsonSchemaType.Number, Format = "double" } : null,
                    Enum = hp.Values is null ? null : [.. hp.Values.Select(v => (JsonNode)JsonValue.Create(v))],
                };
                if (hp.Minimum is { } min)
                    if (hp.ExclusiveMinimum) property.ExclusiveMinimum = Number(min); else property.Minimum = Number(min);
                if (hp.Maximum is { } max)
                    if (hp.ExclusiveMaximum) property.ExclusiveMaximum = Number(max); else property.Maximum = Number(max);
                properties[hp.Name] = property;
            }
            return new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "Hugging Face TrainingArguments names and defaults, plus the fine-tune and pretraining knobs; " +
                    "an unknown name, wrong type or out-of-range value is a 400 naming hyperparameters.<name>.",
                Properties = properties,
                AdditionalPropertiesAllowed = false,
            };
        }

        static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);
    }
}
