using System.Globalization;
using System.Text.Json.Nodes;
using FineTuneService.Platform.Datasets;
using FineTuneService.Platform.Http;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Scheduling;
using FineTuneService.Platform.Serving;
using FineTuneService.Training.Models;
using FineTuneService.Training.Trainer;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace FineTuneService.Platform.Hosting;

/// <summary>The OpenAPI document at <c>/swagger/v1/swagger.json</c>: what Swagger UI shows and generated clients are
/// built from, so every body, answer and error is typed.</summary>
public static class OpenApiSetup
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
            options.IncludeXmlComments(Path.Combine(AppContext.BaseDirectory, "FineTuneService.Platform.xml"));
            // Free-form JSON objects (a pretrain job's model shape, its tokenizer): any object, not System.Text.Json's node API.
            options.MapType<JsonObject>(() => new OpenApiSchema { Type = JsonSchemaType.Object, AdditionalPropertiesAllowed = true });
            options.MapType<JsonNode>(() => new OpenApiSchema());
            options.MapType<PredictInputs>(() => new OpenApiSchema
            {
                Description = "A string, a {text, text_pair} object, or a list of either.",
                OneOf = [Of(JsonSchemaType.String), Ref(nameof(TextInput)), Array(Of(JsonSchemaType.String)), Array(Ref(nameof(TextInput)))],
            });
            options.MapType<Truncation>(() => new OpenApiSchema
            {
                OneOf = [Of(JsonSchemaType.Boolean), Strings("longest_first", "only_first", "only_second")],
            });
            options.SchemaFilter<HyperparametersFilter>();
            options.SchemaFilter<ShapesFilter>();
            options.OperationFilter<HeadersFilter>();
            // Swagger UI's Authorize button: paste a key, and every "Try it out" sends it as a Bearer token.
            options.AddSecurityDefinition("bearer", new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "fts_…", Description = "An API key: Authorization: Bearer fts_…",
            });
            options.AddSecurityRequirement(document => new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] });
            // The event stream's 200 is described as text; the SseItem schema its result type brings is not on the wire.
            options.DocumentFilter<DropSchemas>();
        });
        return services;
    }

    static OpenApiSchema Of(JsonSchemaType type, string? format = null) => new() { Type = type, Format = format };
    static OpenApiSchemaReference Ref(string id) => new(id);
    static OpenApiSchema Array(IOpenApiSchema items) => new() { Type = JsonSchemaType.Array, Items = items };
    static OpenApiSchema Strings(params IEnumerable<string> values) =>
        new() { Type = JsonSchemaType.String, Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v))] };
    static OpenApiSchema Object(Dictionary<string, IOpenApiSchema> properties, string? description = null) =>
        new() { Type = JsonSchemaType.Object, Properties = properties, Description = description };

    /// <summary>What reflection cannot see: string enums the handlers check, the problem details' <c>code</c>, the
    /// shape of a prediction, examples.</summary>
    sealed class ShapesFilter : ISchemaFilter
    {
        public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
        {
            if (schema is not OpenApiSchema s || s.Properties is null) return;
            if (context.Type == typeof(JobSpec))
            {
                s.Properties["type"] = Strings(TaskCatalogue.JobTypes.Select(j => j.Name));
                s.Properties["task"] = With(Strings(TaskCatalogue.All.Select(t => t.Name)),
                    string.Join(" ", TaskCatalogue.JobTypes.Select(j => $"{j.Name}: " + string.Join("; ", TaskCatalogue.Of(j).Select(t => $"{t.Name} ({t.Summary})")) + ".")));
                s.Properties["device"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.String | JsonSchemaType.Null, Pattern = "^(auto|cpu|cuda(:[0-9]+)?)$",
                    Description = "Where the job trains: auto (the worker's device), cpu, cuda, cuda:N.",
                };
                s.Properties["model"] = With(new OpenApiSchema { Type = JsonSchemaType.Object | JsonSchemaType.Null, AdditionalPropertiesAllowed = true },
                    "Pretraining from scratch: a config.json-style shape, e.g. {\"architecture\": \"bert\", \"hidden_size\": 256, \"num_hidden_layers\": 4}.");
                s.Properties["tokenizer"] = With(new OpenApiSchema { Type = JsonSchemaType.Object | JsonSchemaType.Null, AdditionalPropertiesAllowed = true },
                    "Pretraining from scratch: the tokenizer trained on the corpus, e.g. {\"vocab_size\": 8000, \"lowercase\": true, \"min_frequency\": 2}.");
                s.Required = new HashSet<string> { "type", "task", "train_dataset_id" };
                s.Examples = [JsonNode.Parse("""
                    {"type": "finetune", "task": "sequence_classification", "base_model_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                     "train_dataset_id": "6fa459ea-ee8a-3ca4-894e-db77e160355e", "validation_split": 0.2,
                     "columns": {"text": "text", "label": "label"},
                     "hyperparameters": {"num_train_epochs": 3, "learning_rate": 2e-5, "per_device_train_batch_size": 16,
                                         "max_seq_length": 128, "eval_strategy": "epoch", "save_strategy": "epoch"}}
                    """)!];
            }
            else if (context.Type == typeof(DatasetUploadForm))
            {
                s.Properties["format"] = With(Strings(DatasetFile.Formats), "Default: detected from the file's name and content.");
                s.Required = new HashSet<string> { "file" };
            }
            else if (context.Type == typeof(PredictBody))
            {
                context.SchemaGenerator.GenerateSchema(typeof(TextInput), context.SchemaRepository);
                s.Required = new HashSet<string> { "inputs" };
                s.Examples = [JsonNode.Parse("""{"inputs": ["what a wonderful film", {"text": "a question", "text_pair": "a passage"}]}""")!];
            }
            else if (context.Type == typeof(TokenizeBody))
            {
                context.SchemaGenerator.GenerateSchema(typeof(TextInput), context.SchemaRepository);
                s.Required = new HashSet<string> { "inputs" };
                s.Examples = [JsonNode.Parse("""{"inputs": "Hello world", "truncation": true, "max_length": 16}""")!];
            }
            else if (context.Type == typeof(TextInput))
            {
                s.Required = new HashSet<string> { "text" };
            }
            else if (context.Type == typeof(Registry.ModelImportForm))
            {
                s.Required = new HashSet<string> { "files" };
            }
            else if (context.Type == typeof(ProblemDetails) || context.Type == typeof(HttpValidationProblemDetails))
            {
                s.Properties["code"] = With(Strings(ProblemCodes.All.Select(c => c.Code)), "Stable machine-readable code; `type` is urn:finetuneservice:problem:<code>.");
                s.Properties["trace_id"] = Of(JsonSchemaType.String);
            }
            else if (context.Type == typeof(PredictResponse))
            {
                if (!context.SchemaRepository.Schemas.ContainsKey("Prediction")) context.SchemaRepository.AddDefinition("Prediction", Prediction());
                s.Properties["predictions"] = Array(Ref("Prediction"));
            }
            else if (context.Type == typeof(TokenizeResponse))
            {
                s.Properties["encodings"] = Array(Object(new()
                {
                    ["ids"] = Array(Of(JsonSchemaType.Integer, "int32")),
                    ["tokens"] = Array(Of(JsonSchemaType.String)),
                    ["offsets"] = With(Array(Array(Of(JsonSchemaType.Integer, "int32"))), "Per token [start, end) character offsets in its text."),
                    ["type_ids"] = Array(Of(JsonSchemaType.Integer, "int32")),
                }));
            }
        }

        static OpenApiSchema With(OpenApiSchema schema, string description)
        {
            schema.Description = description;
            return schema;
        }

        /// <summary>Every field a prediction may have; which are set depends on the response's <c>kind</c>.</summary>
        static OpenApiSchema Prediction() => Object(new()
        {
            ["label"] = With(Of(JsonSchemaType.String), "Classification: the most likely label."),
            ["score"] = With(Of(JsonSchemaType.Number, "double"), "Classification: its probability."),
            ["scores"] = With(new OpenApiSchema { Type = JsonSchemaType.Object, AdditionalProperties = Of(JsonSchemaType.Number, "double") }, "Classification: every label's probability."),
            ["labels"] = With(Array(Of(JsonSchemaType.String)), "Multi-label classification: the labels with probability ≥ 0.5."),
            ["value"] = With(Of(JsonSchemaType.Number, "double"), "Regression: the predicted value."),
            ["entities"] = With(Array(Object(new()
            {
                ["entity"] = Of(JsonSchemaType.String), ["text"] = Of(JsonSchemaType.String),
                ["start"] = Of(JsonSchemaType.Integer, "int32"), ["end"] = Of(JsonSchemaType.Integer, "int32"), ["score"] = Of(JsonSchemaType.Number, "double"),
            })), "Token classification: IOB2 words grouped into entities, with character offsets."),
            ["masks"] = With(Array(Object(new()
            {
                ["position"] = Of(JsonSchemaType.Integer, "int32"),
                ["candidates"] = Array(Object(new()
                {
                    ["token"] = Of(JsonSchemaType.String), ["token_id"] = Of(JsonSchemaType.Integer, "int32"), ["score"] = Of(JsonSchemaType.Number, "double"),
                })),
            })), "Masked LM: per [MASK] token its position and top_k candidates."),
            ["generated_text"] = With(Of(JsonSchemaType.String), "Causal LM: the prompt and its continuation."),
            ["new_tokens"] = With(Of(JsonSchemaType.Integer, "int32"), "Causal LM: tokens generated."),
        }, "One input's prediction; which fields are set depends on the model's kind.");
    }

    sealed class DropSchemas : IDocumentFilter
    {
        public void Apply(OpenApiDocument document, DocumentFilterContext context) => document.Components?.Schemas?.Remove("ObjectSseItem");
    }

    /// <summary>Bodies and headers the handlers read themselves, and the event stream's body.</summary>
    sealed class HeadersFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            var metadata = context.ApiDescription.ActionDescriptor.EndpointMetadata;
            if (metadata.OfType<DocumentedBody>().FirstOrDefault() is { } body)
            {
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = body.Required,
                    Content = new Dictionary<string, IOpenApiMediaType>
                    {
                        [body.ContentType] = new OpenApiMediaType { Schema = context.SchemaGenerator.GenerateSchema(body.Type, context.SchemaRepository) },
                    },
                };
            }

            var name = metadata.OfType<IEndpointNameMetadata>().FirstOrDefault()?.EndpointName;
            if (name == "CreateJob")
                Header(operation, "Idempotency-Key", "A client's key (at most 200 characters): a retry with the same key and body returns the first job.");
            if (name == "StreamJob")
            {
                Header(operation, "Last-Event-ID", "The `id` of the last event received (`<metric>.<event>`): the stream continues after it.");
                operation.Responses!["200"] = new OpenApiResponse
                {
                    Description = "text/event-stream: `status`, `progress`, `metric`, `event` and finally `end` events, each with JSON data.",
                    Content = new Dictionary<string, IOpenApiMediaType> { ["text/event-stream"] = new OpenApiMediaType { Schema = Of(JsonSchemaType.String) } },
                };
            }
        }

        static void Header(OpenApiOperation operation, string name, string description) =>
            (operation.Parameters ??= []).Add(new OpenApiParameter
            {
                Name = name, In = ParameterLocation.Header, Required = false, Description = description, Schema = Of(JsonSchemaType.String),
            });
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
                    // A task-specific default is told, not declared: generated clients send declared defaults, and other tasks refuse the name.
                    Description = hp.AppliesTo is null ? hp.Description : $"{hp.Description} Only for {hp.AppliesTo}; default {hp.Default?.ToJsonString()}.",
                    Default = hp.AppliesTo is null ? hp.Default?.DeepClone() : null,
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
