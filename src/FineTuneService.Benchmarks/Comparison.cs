using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FineTuneService.Benchmarks;

/// <summary>One line of the benchmark's output: ours against the peer, ratio = ours / peer.
/// <see cref="Target"/> is the floor (throughputs, "&gt;= x") or ceiling (costs, "&lt;= x") on the ratio, if any.</summary>
public sealed record Comparison(string Name, double Ours, double Peer, string Unit, string? Target = null, JsonObject? Detail = null)
{
    public double Ratio => Peer == 0 ? double.NaN : Ours / Peer;

    public bool? Meets => Target switch
    {
        null => null,
        _ when Target.StartsWith(">=") => Ratio >= double.Parse(Target[2..]),
        _ when Target.StartsWith("<=") => Ratio <= double.Parse(Target[2..]),
        _ => throw new InvalidOperationException($"bad target {Target}"),
    };

    private static JsonNode? Rounded(double value) => double.IsFinite(value) ? Math.Round(value, 3) : null;

    public string ToJson()
    {
        var line = new JsonObject
        {
            ["name"] = Name,
            ["ours"] = Rounded(Ours),
            ["peer"] = Rounded(Peer),
            ["unit"] = Unit,
            ["ratio"] = Rounded(Ratio),
        };
        if (Target is not null)
        {
            line["target"] = Target;
            line["meets"] = Meets;
        }
        if (Detail is not null)
        {
            line["detail"] = Detail;
        }
        return line.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
