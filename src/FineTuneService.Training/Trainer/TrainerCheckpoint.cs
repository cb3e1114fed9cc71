using System.Text.Json;
using System.Text.RegularExpressions;
using FineTuneService.Training.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuneService.Training.Trainer;

/// <summary>checkpoint-&lt;step&gt; folders: model.safetensors (HF names), optimizer.safetensors (AdamW exp_avg and
/// exp_avg_sq per parameter, the step count; checkpoints of before the flat optimizer have TorchSharp's optimizer.bin,
/// still read), rng_state.bin (torch's CPU generator), trainer_state.json (step, data position, loss
/// accumulators, best metric). The schedule is a function of the step and the data order a function of
/// (seed, epoch), so these are the whole state. Written to a temporary folder and renamed: a checkpoint that
/// exists is complete.</summary>
public static partial class TrainerCheckpoint
{
    const string ModelFile = "model.safetensors", OptimizerFile = "optimizer.safetensors", LegacyOptimizerFile = "optimizer.bin", RngFile = "rng_state.bin", StateFile = "trainer_state.json";

    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    [GeneratedRegex(@"^checkpoint-(\d+)$")]
    private static partial Regex NamePattern();

    public static string Name(int step) => $"checkpoint-{step}";

    /// <summary>About what <see cref="Save"/> writes: the weights and AdamW's two moments per parameter.</summary>
    public static long EstimatedBytes(nn.Module model) => 3 * model.parameters().Sum(p => p.numel() * p.ElementSize);

    public static string Save(string checkpointsDir, nn.Module model, FlatAdamW optimizer, TrainerState state)
    {
        Directory.CreateDirectory(checkpointsDir);
        var final = Path.Combine(checkpointsDir, Name(state.GlobalStep));
        var temp = Path.Combine(checkpointsDir, $".tmp-checkpoint-{state.GlobalStep}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        SafeTensors.Save(Path.Combine(temp, ModelFile), optimizer.MasterWeights(model.state_dict()));
        optimizer.Save(Path.Combine(temp, OptimizerFile));
        using (var rng = torch.get_rng_state()) File.WriteAllBytes(Path.Combine(temp, RngFile), rng.data<byte>().ToArray());
        File.WriteAllText(Path.Combine(temp, StateFile), JsonSerializer.Serialize(state, Json));
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(temp, final);
        return final;
    }

    /// <summary>The newest complete checkpoint folder, or null. Leftover temporary folders of a killed run are removed.</summary>
    public static string? Latest(string checkpointsDir)
    {
        if (!Directory.Exists(checkpointsDir)) return null;
        foreach (var temp in Directory.GetDirectories(checkpointsDir, ".tmp-checkpoint-*")) Directory.Delete(temp, recursive: true);
        return Sorted(checkpointsDir).LastOrDefault();
    }

    /// <summary>Loads model weights, optimizer state and the RNG into the live objects; returns the run's position.</summary>
    public static TrainerState Load(string dir, nn.Module model, FlatAdamW optimizer)
    {
        SafeTensors.LoadInto(Path.Combine(dir, ModelFile), optimizer.MasterWeights(model.state_dict()));
        optimizer.WeightsLoaded();
        if (File.Exists(Path.Combine(dir, OptimizerFile))) optimizer.Load(Path.Combine(dir, OptimizerFile));
        else optimizer.LoadTorchSharpAdamW(Path.Combine(dir, LegacyOptimizerFile));
        using (var rng = torch.tensor(File.ReadAllBytes(Path.Combine(dir, RngFile)))) torch.set_rng_state(rng);
        return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(Path.Combine(dir, StateFile)), Json)!;
    }

    public static void LoadModel(string dir, nn.Module model) =>
        SafeTensors.LoadInto(Path.Combine(dir, ModelFile), model.state_dict());

    /// <summary>save_total_limit: deletes the oldest checkpoints beyond the limit, never the protected (best) one;
    /// like HF, a limit of 1 keeps the best and the newest.</summary>
    public static void Rotate(string checkpointsDir, int? limit, string? protect)
    {
        if (limit is not { } keep) return;
        var all = Sorted(checkpointsDir).ToList();
        if (protect is not null && keep == 1 && Path.GetFileName(all[^1]) != protect) keep = 2;
        foreach (var old in all.Where(d => Path.GetFileName(d) != protect).Take(Math.Max(0, all.Count - keep)))
            Directory.Delete(old, recursive: true);
    }

    static IEnumerable<string> Sorted(string checkpointsDir) => Directory.GetDirectories(checkpointsDir)
        .Select(d => (Dir: d, Match: NamePattern().Match(Path.GetFileName(d))))
        .Where(x => x.Match.Success && File.Exists(Path.Combine(x.Dir, StateFile)))
        .OrderBy(x => int.Parse(x.Match.Groups[1].Value))
        .Select(x => x.Dir);
}
