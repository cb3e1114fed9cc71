using System.Text.Json.Nodes;

namespace FineTuneService.Benchmarks;

/// <summary>What one side of a comparison ran with. Both sides of a fair comparison run on the same device, in the same
/// precision, on the same batch, each with at most the threads both are allowed.</summary>
public sealed record SideSettings(string Device, int Threads, string Precision, int Batch, string? Engine = null)
{
    /// <summary>How idle worker threads wait ("sleep" or "spin"), where the side has such threads.</summary>
    public string? Wait { get; init; }

    public JsonObject ToJson()
    {
        var json = new JsonObject { ["device"] = Device, ["threads"] = Threads, ["precision"] = Precision, ["batch"] = Batch };
        if (Engine is not null)
        {
            json["engine"] = Engine;
        }
        if (Wait is not null)
        {
            json["wait"] = Wait;
        }
        return json;
    }

    /// <summary>Why the two sides may not be compared, or null when they may.</summary>
    public static string? Mismatch(SideSettings ours, SideSettings peer, int threadBudget)
    {
        if (ours.Device != peer.Device)
        {
            return $"ours ran on {ours.Device}, the peer on {peer.Device}";
        }
        if (ours.Precision != peer.Precision)
        {
            return $"ours ran in {ours.Precision}, the peer in {peer.Precision}";
        }
        if (ours.Batch != peer.Batch)
        {
            return $"ours ran batch {ours.Batch}, the peer batch {peer.Batch}";
        }
        if (ours.Wait is not null && peer.Wait is not null && ours.Wait != peer.Wait)
        {
            return $"ours' idle threads {ours.Wait}, the peer's {peer.Wait}";
        }
        foreach (var (side, settings) in new[] { ("ours", ours), ("the peer", peer) })
        {
            if (settings.Threads > threadBudget)
            {
                return $"{side} ran {settings.Threads} threads, more than the {threadBudget} both sides are allowed";
            }
        }
        return null;
    }
}
