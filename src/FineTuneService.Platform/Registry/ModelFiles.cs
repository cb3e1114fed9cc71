using System.Formats.Tar;
using System.IO.Compression;
using System.Text.RegularExpressions;
using FineTuneService.Platform.Http;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Storage;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Models;

namespace FineTuneService.Platform.Registry;

/// <summary>The files of a Hugging Face model folder that the service keeps, and the checks an import must pass:
/// a readable config.json of a supported family within the model budget, safetensors weights whose whole header is sound
/// and whose names and shapes fit the config, and a tokenizer that loads and fits the embedding.
/// Pickled weights are refused, since unpickling runs code. Other files (README.md, .gitattributes, TF/Flax weights)
/// are left out. Names come from a fixed list, so a client's file name never becomes a path.</summary>
public static partial class ModelFiles
{
    static readonly HashSet<string> Kept =
    [
        "config.json", "model.safetensors", "model.safetensors.index.json", "vocab.txt", "tokenizer.json",
        "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "added_tokens.json",
        "generation_config.json", "training_args.json",
    ];

    // Tokenizer files of the largest vocabularies are a few tens of MiB; configs and the rest a few KiB.
    const long MaxTokenizerBytes = 64L << 20;
    const long MaxSmallFileBytes = 1L << 20;

    static readonly string[] Pickled = [".bin", ".pt", ".pth", ".ckpt", ".pkl"];

    [GeneratedRegex(@"^model-\d{5}-of-\d{5}\.safetensors$")]
    private static partial Regex Shard();

    /// <summary>The name a file is kept under, or null when it is not part of what we keep.</summary>
    static string? KeptName(string clientName)
    {
        var name = Path.GetFileName(clientName.Replace('\\', '/'));
        if (IsPickled(name))
        {
            throw new RequestValidationException("files", $"'{name}' is a pickled PyTorch file, refused because unpickling runs code; " +
                "upload model.safetensors instead (save_pretrained(dir, safe_serialization=True))");
        }

        return IsKept(name) ? name : null;
    }

    /// <summary>A file of the folder's top level that the service keeps (the Hub import fetches only these).</summary>
    public static bool IsKept(string name) => Kept.Contains(name) || Shard().IsMatch(name);

    public static bool IsPickled(string name) => Pickled.Any(ext => name.EndsWith(ext, StringComparison.OrdinalIgnoreCase));

    public static bool IsWeights(string name) => name.EndsWith(".safetensors", StringComparison.Ordinal) || name == SafeTensors.IndexFileName;

    /// <summary>The most a kept file may hold; weights are bounded by the import's whole limit instead.</summary>
    public static long MaxBytes(string name) =>
        name.EndsWith(".safetensors", StringComparison.Ordinal) ? long.MaxValue
        : name is "tokenizer.json" or "vocab.txt" or "vocab.json" or "merges.txt" or "model.safetensors.index.json" ? MaxTokenizerBytes : MaxSmallFileBytes;

    /// <summary>What a folder of these file names lacks to be a model (weights, tokenizer), or null when nothing.</summary>
    public static string? Missing(IReadOnlyCollection<string> names)
    {
        if (!names.Contains("model.safetensors") && !names.Contains(SafeTensors.IndexFileName)) return "model.safetensors is missing";
        if (!names.Contains("vocab.txt") && !names.Contains("tokenizer.json") && !(names.Contains("vocab.json") && names.Contains("merges.txt")))
            return "tokenizer files are missing: vocab.txt or tokenizer.json (BERT), vocab.json + merges.txt (GPT-2)";
        return null;
    }

    /// <summary>Moves the uploaded parts (or the files of one uploaded .zip / .tar.gz) into <paramref name="folder"/>
    /// under their kept names, then checks the folder.</summary>
    public static void Assemble(IReadOnlyList<UploadedFile> uploads, string folder, long limitBytes, ModelBudget budget)
    {
        if (uploads.Count == 0) throw new RequestValidationException("files", "required: the model's files as 'files' parts, or one .zip or .tar.gz");
        var model = Directory.CreateDirectory(Path.Combine(folder, "model")).FullName;
        if (uploads is [var archive] && IsArchive(archive.ClientFileName))
        {
            Extract(archive, model, limitBytes);
        }
        else
        {
            foreach (var upload in uploads)
                if (KeptName(upload.ClientFileName) is { } name) Place(model, name, target => File.Move(upload.Path, target));
        }
        Check(model, budget);
    }

    static bool IsArchive(string name) =>
        name.EndsWith(".zip", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase)
        || name.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase);

    static void Extract(UploadedFile archive, string model, long limitBytes)
    {
        long total = 0;
        void Copy(Stream source, string target)
        {
            using var output = File.Create(target);
            var buffer = new byte[1 << 16];
            int read;
            while ((read = source.Read(buffer)) > 0)
            {
                // Declared sizes can lie: count what comes out (zip bombs).
                if ((total += read) > limitBytes) throw new PayloadTooLargeException("files", limitBytes);
                output.Write(buffer, 0, read);
            }
        }
        try
        {
            if (archive.ClientFileName.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
            {
                using var zip = ZipFile.OpenRead(archive.Path);
                foreach (var entry in zip.Entries.Where(e => !e.FullName.EndsWith('/')))
                {
                    if (KeptName(entry.FullName) is { } name)
                        Place(model, name, target => { using var s = entry.Open(); Copy(s, target); });
                }
            }
            else
            {
                using var gzip = new GZipStream(File.OpenRead(archive.Path), CompressionMode.Decompress);
                using var tar = new TarReader(gzip);
                while (tar.GetNextEntry() is { } entry)
                {
                    if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile && entry.DataStream is { } data
                        && KeptName(entry.Name) is { } name)
                    {
                        Place(model, name, target => Copy(data, target));
                    }
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new RequestValidationException("files", $"'{archive.ClientFileName}' is not a readable archive: {e.Message}");
        }
    }

    static void Place(string model, string name, Action<string> write)
    {
        var target = Path.Combine(model, name);
        if (File.Exists(target)) throw new RequestValidationException("files", $"'{name}' is there twice");
        write(target);
    }

    /// <summary>Checks a folder of kept files: sizes, the files a model needs, then the model itself (<see cref="ModelFolder.Check"/>).
    /// Throws <see cref="RequestValidationException"/> naming <paramref name="field"/>.</summary>
    public static void Check(string model, ModelBudget budget, string field = "files")
    {
        var files = Directory.GetFiles(model);
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
            var limit = MaxBytes(name);
            if (new FileInfo(file).Length > limit) throw new RequestValidationException(field, $"'{name}' is larger than {limit >> 10} KiB");
        }
        if (Missing([.. files.Select(Path.GetFileName)!]) is { } missing) throw new RequestValidationException(field, missing);

        try { ModelFolder.Check(model, budget); }
        catch (InvalidCheckpointException e) { throw new RequestValidationException(field, e.Message); }
    }

    /// <summary>The registry row for a model folder already in place under <paramref name="folder"/>.</summary>
    public static Model Describe(ArtifactStore store, Guid id, string folder, string name, Guid? sourceJobId, Guid? baseModelId, TimeProvider clock)
    {
        var path = store.FullPath(folder);
        var config = ModelConfig.Load(Path.Combine(path, "config.json"));
        return new Model
        {
            Id = id,
            Name = name,
            Path = folder,
            Architecture = config.Architectures?.FirstOrDefault(),
            ModelType = config.ModelType,
            SizeBytes = ArtifactStore.FolderSize(path),
            SourceJobId = sourceJobId,
            BaseModelId = baseModelId,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
    }
}
