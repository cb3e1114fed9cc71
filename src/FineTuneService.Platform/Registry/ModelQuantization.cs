using System.Text.Json.Nodes;
using FineTuneService.Platform.Datasets;
using FineTuneService.Platform.Http;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Storage;
using FineTuneService.Training.Inference;
using FineTuneService.Training.Onnx;
using TorchSharp;

namespace FineTuneService.Platform.Registry;

/// <summary>Makes the int8 copy of a registry model: the same Hugging Face files (so the copy downloads and fine-tunes
/// as its fp32 model does) and an ONNX graph whose matrix products have per-column symmetric int8 weights
/// (<c>DynamicQuantizeMatMul</c>); its lineage points at the fp32 model.</summary>
public static class ModelQuantization
{
    public const int MaxEvaluationRows = 20_000;
    static readonly string[] Fields = ["name", "evaluation"];
    static readonly string[] EvaluationFields = ["dataset_id", "columns", "max_rows"];

    public static OnnxPrecision PrecisionOf(Model model) => model.Precision == Precisions.Int8 ? OnnxPrecision.Int8 : OnnxPrecision.Fp32;

    public static QuantizeRequest ParseRequest(JsonObject body)
    {
        var errors = new Dictionary<string, string[]>();
        foreach (var (name, _) in body.Where(p => !Fields.Contains(p.Key)))
        {
            errors[name] = [$"unknown field; known fields are {string.Join(", ", Fields)}"];
        }
        string? modelName = null;
        if (body["name"] is { } n && (n is not JsonValue v || !v.TryGetValue(out modelName) || modelName.Trim().Length is 0 or > DisplayName.MaxLength))
        {
            errors["name"] = [$"a string of 1 to {DisplayName.MaxLength} characters"];
        }
        QuantizeEvaluation? evaluation = null;
        switch (body["evaluation"])
        {
            case null:
                break;
            case JsonObject e:
                evaluation = ParseEvaluation(e, errors);
                break;
            default:
                errors["evaluation"] = ["an object {dataset_id, columns: {text, text_pair, label}, max_rows}"];
                break;
        }
        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }
        return new QuantizeRequest(modelName?.Trim(), evaluation);
    }

    static QuantizeEvaluation? ParseEvaluation(JsonObject e, Dictionary<string, string[]> errors)
    {
        foreach (var (name, _) in e.Where(p => !EvaluationFields.Contains(p.Key)))
        {
            errors[$"evaluation.{name}"] = [$"unknown field; known fields are {string.Join(", ", EvaluationFields)}"];
        }
        Guid dataset = default;
        if (e["dataset_id"] is not JsonValue d || !d.TryGetValue<string>(out var text) || !Guid.TryParse(text, out dataset))
        {
            errors["evaluation.dataset_id"] = ["required: a dataset id"];
        }
        string? Column(string name, bool required)
        {
            var node = (e["columns"] as JsonObject)?[name];
            if (node is JsonValue value && value.TryGetValue<string>(out var column) && column.Length > 0)
            {
                return column;
            }
            if (node is not null || required)
            {
                errors[$"evaluation.columns.{name}"] = [required ? "required: a column name" : "a column name or null"];
            }
            return null;
        }
        var columns = (Text: Column("text", true), Pair: Column("text_pair", false), Label: Column("label", true));
        int maxRows = 2000;
        if (e["max_rows"] is { } m && (m is not JsonValue mv || !mv.TryGetValue(out maxRows) || maxRows is < 1 or > MaxEvaluationRows))
        {
            errors["evaluation.max_rows"] = [$"an integer from 1 to {MaxEvaluationRows}"];
        }
        return columns.Text is null || columns.Label is null ? null
            : new QuantizeEvaluation(dataset, columns.Text, columns.Pair, columns.Label, maxRows);
    }

    /// <summary>Builds the copy under a new model folder and returns its registry row (not yet saved).</summary>
    public static Model Quantize(Model source, QuantizeRequest request, Dataset? dataset, ArtifactStore store, TimeProvider clock)
    {
        if (source.Precision != Precisions.Fp32)
        {
            throw new ConflictException($"Model {source.Id} is already {source.Precision}; quantize its fp32 model {source.BaseModelId}.");
        }
        if (!OnnxExport.Supports(source.Architecture))
        {
            throw new ConflictException($"{source.Architecture} has no ONNX graph yet, so it cannot be quantized.");
        }
        var sourceDir = store.FullPath(source.Path);
        var temp = store.NewTempFolder();
        try
        {
            var copy = Directory.CreateDirectory(Path.Combine(temp, "model")).FullName;
            foreach (var file in Directory.GetFiles(sourceDir))
            {
                File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
            }
            OnnxExport.Cached(copy, OnnxPrecision.Int8);
            var report = dataset is null ? null : Measure(sourceDir, copy, request.Evaluation!, dataset, store);
            var id = Guid.NewGuid();
            var folder = ArtifactStore.ModelFolder(id);
            store.Promote(copy, folder);
            var model = ModelFiles.Describe(store, id, folder, request.Name ?? $"{source.Name} (int8)", null, source.Id, clock);
            model.Precision = Precisions.Int8;
            model.QuantizationReport = report?.ToJson().ToJsonString();
            return model;
        }
        finally
        {
            store.DeleteFolder(temp);
        }
    }

    static QuantizationReport Measure(string fp32Dir, string int8Dir, QuantizeEvaluation spec, Dataset dataset, ArtifactStore store)
    {
        foreach (var (field, column) in new[] { ("text", spec.Text), ("text_pair", spec.TextPair), ("label", spec.Label) })
        {
            if (column is not null && !dataset.Columns.Contains(column))
            {
                throw new RequestValidationException($"evaluation.columns.{field}",
                    $"the dataset has no column '{column}' (it has {string.Join(", ", dataset.Columns)})");
            }
        }
        using var fp32 = LoadedModel.Load(fp32Dir, torch.CPU, InferenceEngine.OnnxRuntime, OnnxPrecision.Fp32);
        using var int8 = LoadedModel.Load(int8Dir, torch.CPU, InferenceEngine.OnnxRuntime, OnnxPrecision.Int8);
        var labels = fp32.Labels.ToHashSet();
        var examples = DatasetFile.Rows(store.FullPath(dataset.Path), dataset.Format).Take(spec.MaxRows).Select((row, i) =>
        {
            var label = row.GetValueOrDefault(spec.Label) ?? "";
            if (!labels.Contains(label))
            {
                throw new RequestValidationException("evaluation.columns.label",
                    $"row {i + 1}: '{label}' is not one of the model's labels ({string.Join(", ", fp32.Labels)})");
            }
            return (new PredictInput(row.GetValueOrDefault(spec.Text) ?? "", spec.TextPair is null ? null : row.GetValueOrDefault(spec.TextPair)), label);
        }).ToList();
        try
        {
            return QuantizationReport.Measure(fp32, int8, examples);
        }
        catch (PredictInputException e)
        {
            throw new RequestValidationException("evaluation", e.Message);
        }
    }
}
