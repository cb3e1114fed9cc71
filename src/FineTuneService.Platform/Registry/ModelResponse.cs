using System.Text.Json.Nodes;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Platform.Registry;

/// <summary>A registry model. <see cref="Precision"/> int8 marks a quantized copy of <see cref="BaseModelId"/>;
/// <see cref="Quantization"/> is its agreement and accuracy against that model, when measured. A pull from the Hub is
/// <c>importing</c> (with <see cref="Progress"/>) until it is <c>ready</c> or <c>failed</c> (<see cref="Error"/>);
/// <see cref="Hub"/> says what it was pulled from.</summary>
public sealed record ModelResponse(
    Guid Id, string Name, string? Architecture, string? ModelType, long SizeBytes, IReadOnlyList<string> Files,
    Guid? SourceJobId, Guid? BaseModelId, string Precision, JsonObject? Quantization, bool Shared, DateTime CreatedAt,
    ModelStatus Status, ImportProgress? Progress, string? Error, HubSource? Hub)
{
    public static ModelResponse From(Model m, ArtifactStore store)
    {
        var folder = store.FullPath(m.Path);
        IReadOnlyList<string> files = Directory.Exists(folder) ? [.. Directory.GetFiles(folder).Select(Path.GetFileName).Order()!] : [];
        return new(m.Id, m.Name, m.Architecture, m.ModelType, m.SizeBytes, files, m.SourceJobId, m.BaseModelId, m.Precision,
            m.QuantizationReport is null ? null : JsonNode.Parse(m.QuantizationReport)!.AsObject(), m.Shared, m.CreatedAt,
            m.Status, m.ImportBytesTotal is { } total ? new ImportProgress(m.ImportBytesDone ?? 0, total) : null, m.ImportError,
            m.HubId is null ? null : new HubSource(m.HubId, m.HubRevision!, m.HubCommit!));
    }

    /// <summary>Models as the caller may see them: lineage names only jobs and models the caller can read, so a shared
    /// model never reveals its tenant's job.</summary>
    public static async Task<List<ModelResponse>> VisibleAsync(IReadOnlyList<Model> models, AppDbContext db, ArtifactStore store, CancellationToken cancellationToken)
    {
        var jobIds = models.Select(m => m.SourceJobId).OfType<Guid>().Distinct().ToList();
        var baseIds = models.Select(m => m.BaseModelId).OfType<Guid>().Distinct().ToList();
        var jobs = jobIds.Count == 0 ? [] : await db.Jobs.Where(j => jobIds.Contains(j.Id)).Select(j => j.Id).ToHashSetAsync(cancellationToken);
        var bases = baseIds.Count == 0 ? [] : await db.Models.Where(m => baseIds.Contains(m.Id)).Select(m => m.Id).ToHashSetAsync(cancellationToken);
        return [.. models.Select(m => From(m, store) with
        {
            SourceJobId = m.SourceJobId is { } job && jobs.Contains(job) ? job : null,
            BaseModelId = m.BaseModelId is { } model && bases.Contains(model) ? model : null,
        })];
    }
}
