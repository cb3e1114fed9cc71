using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FineTuneService.Benchmarks;

/// <summary>One line of the benchmark's output: ours against the peer, each the median of alternating runs with its
/// spread, ratio = median ours / median peer. <see cref="Target"/> is the floor (throughputs, "&gt;= x") or
/// ceiling (costs, "&lt;= x") on the ratio, if any. A comparison whose peer failed its checks, or whose sides ran with
/// settings the other was not allowed, is <see cref="Refused"/>: it prints "meets": false and the reason, never a ratio.</summary>
public sealed record Comparison(string Name, Spread? Ours, Spread? Peer, string Unit, string? Target = null, JsonObject? Detail = null)
{
    /// <summary>Why this comparison is refused, or null.</summary>
    public string? Refused { get; init; }

    public SideSettings? OursSettings { get; init; }

    public SideSettings? PeerSettings { get; init; }

    public double Ratio => Refused is not null || Ours is null || Peer is null || Peer.Median == 0 ? double.NaN : Ours.Median / Peer.Median;

    public bool? Meets => Refused is not null ? false : Target switch
    {
        null => null,
        _ when Target.StartsWith(">=") => Ratio >= double.Parse(Target[2..]),
        _ when Target.StartsWith("<=") => Ratio <= double.Parse(Target[2..]),
        _ => throw new InvalidOperationException($"bad target {Target}"),
    };

    /// <summary>A comparison that could not be measured fairly: the reason, and nothing to divide.</summary>
    public static Comparison Refuse(string name, string unit, string reason, string? target = null, Spread? ours = null) =>
        new(name, ours, null, unit, target) { Refused = reason };

    /// <summary>Refused with <paramref name="reason"/> unless already refused or the reason is null.</summary>
    public Comparison RefusedIf(string? reason) => Refused is null && reason is not null ? this with { Refused = reason } : this;

    /// <summary>Records both sides' settings and refuses the comparison when they are not comparable.</summary>
    public Comparison WithSettings(SideSettings ours, SideSettings peer, int threadBudget) =>
        (this with { OursSettings = ours, PeerSettings = peer }).RefusedIf(SideSettings.Mismatch(ours, peer, threadBudget));

    static JsonNode? Rounded(double value) => double.IsFinite(value) ? Math.Round(value, 3) : null;

    public string ToJson()
    {
        var line = new JsonObject { ["name"] = Name };
        foreach (var (side, spread) in new[] { ("ours", Ours), ("peer", Refused is null ? Peer : null) })
        {
            if (spread is not null)
            {
                line[side] = Rounded(spread.Median);
                line[side + "_min"] = Rounded(spread.Min);
                line[side + "_max"] = Rounded(spread.Max);
            }
        }
        line["runs"] = Math.Max(Ours?.Values.Count ?? 0, Peer?.Values.Count ?? 0);
        line["unit"] = Unit;
        if (Refused is null)
        {
            line["ratio"] = Rounded(Ratio);
        }
        if (Target is not null)
        {
            line["target"] = Target;
        }
        if (Meets is { } meets)
        {
            line["meets"] = meets;
        }
        if (Refused is not null)
        {
            line["reason"] = Refused;
        }
        if (OursSettings is not null && PeerSettings is not null)
        {
            line["ours_settings"] = OursSettings.ToJson();
            line["peer_settings"] = PeerSettings.ToJson();
        }
        if (Detail is not null)
        {
            line["detail"] = Detail.DeepClone();
        }
        return line.ToJsonString(Json);
    }

    internal static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
