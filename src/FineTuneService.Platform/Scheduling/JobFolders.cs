using FineTuneService.Platform.Storage;
using Microsoft.Extensions.Logging;

namespace FineTuneService.Platform.Scheduling;

/// <summary>A finished job's work folder (data caches, tokenizer, checkpoints) is removed; with <c>keep_checkpoints</c> its
/// complete checkpoints stay.</summary>
static class JobFolders
{
    public static void Clean(ArtifactStore store, Guid jobId, bool keepCheckpoints, ILogger logger)
    {
        var folder = store.FullPath(ArtifactStore.JobFolder(jobId));
        try
        {
            if (!Directory.Exists(folder)) return;
            if (!keepCheckpoints) { Directory.Delete(folder, recursive: true); return; }
            foreach (var entry in Directory.EnumerateFileSystemEntries(folder).Where(e => Path.GetFileName(e) != "checkpoints"))
                if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true); else File.Delete(entry);
            var checkpoints = Path.Combine(folder, "checkpoints");
            if (Directory.Exists(checkpoints))
                foreach (var temp in Directory.GetDirectories(checkpoints, ".tmp-*")) Directory.Delete(temp, recursive: true);
        }
        catch (IOException e) { logger.LogWarning(e, "Job {JobId}: its work folder could not be removed", jobId); }
    }
}
