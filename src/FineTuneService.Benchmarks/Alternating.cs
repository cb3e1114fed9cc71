namespace FineTuneService.Benchmarks;

/// <summary>Runs both sides in turn, A B A B A B, so that a noisy machine's slow minutes fall on both alike.</summary>
public static class Alternating
{
    /// <summary>At least three rounds, as every figure of the benchmark is a median with its spread.</summary>
    public const int Rounds = 3;

    /// <summary>Each side's figures of <paramref name="rounds"/> rounds; a round runs <paramref name="ours"/>, then
    /// <paramref name="peer"/>, and may return any number of named figures (p50 and p99 of one run, say).</summary>
    public static (Dictionary<string, Spread> Ours, Dictionary<string, Spread> Peer) Run(string name,
        Func<IReadOnlyDictionary<string, double>> ours, Func<IReadOnlyDictionary<string, double>> peer, int rounds = Rounds)
    {
        var oursRuns = new List<IReadOnlyDictionary<string, double>>();
        var peerRuns = new List<IReadOnlyDictionary<string, double>>();
        for (int round = 1; round <= rounds; round++)
        {
            oursRuns.Add(ours());
            peerRuns.Add(peer());
            Console.Error.WriteLine($"  {name} round {round}/{rounds}: ours {Show(oursRuns[^1])}; peer {Show(peerRuns[^1])}");
        }
        return (Collect(oursRuns), Collect(peerRuns));
    }

    /// <summary>The same for asynchronous sides (HTTP clients).</summary>
    public static async Task<(Dictionary<string, Spread> Ours, Dictionary<string, Spread> Peer)> RunAsync(string name,
        Func<Task<IReadOnlyDictionary<string, double>>> ours, Func<IReadOnlyDictionary<string, double>> peer, int rounds = Rounds)
    {
        var oursRuns = new List<IReadOnlyDictionary<string, double>>();
        var peerRuns = new List<IReadOnlyDictionary<string, double>>();
        for (int round = 1; round <= rounds; round++)
        {
            oursRuns.Add(await ours());
            peerRuns.Add(peer());
            Console.Error.WriteLine($"  {name} round {round}/{rounds}: ours {Show(oursRuns[^1])}; peer {Show(peerRuns[^1])}");
        }
        return (Collect(oursRuns), Collect(peerRuns));
    }

    /// <summary>One figure a round on each side.</summary>
    public static (Spread Ours, Spread Peer) Run(string name, Func<double> ours, Func<double> peer, int rounds = Rounds)
    {
        var (o, p) = Run(name, () => One(ours()), () => One(peer()), rounds);
        return (o[""], p[""]);
    }

    static Dictionary<string, double> One(double value) => new() { [""] = value };

    static Dictionary<string, Spread> Collect(List<IReadOnlyDictionary<string, double>> runs) =>
        runs[0].Keys.ToDictionary(key => key, key => new Spread([.. runs.Select(run => run[key])]));

    static string Show(IReadOnlyDictionary<string, double> figures) =>
        string.Join(", ", figures.Select(f => f.Key == "" ? $"{f.Value:G4}" : $"{f.Key} {f.Value:G4}"));
}
