using FineTuneService.Benchmarks;

// dotnet run -c Release --project src/FineTuneService.Benchmarks -- all [--quick]
var quick = args.Contains("--quick");
var command = args.FirstOrDefault(a => !a.StartsWith("--")) ?? "all";
var fixture = Fixture.Find();
var results = new List<Comparison>();
if (command is "all" or "tokenize")
{
    results.Add(TokenizerBenchmark.Run(fixture, quick ? 2 : 10));
}
foreach (var result in results)
{
    Console.WriteLine(result.ToJson());
}
if (command == "ort-check")
{
    using var peer = new OnnxPeer(Path.Combine(fixture.Dir, "tokenizer.json"), 2);
    foreach (var c in new[] { 1, 8 })
    {
        var r = LoadGenerator.RunOnThreads(c, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4), fixture.Texts, t => peer.Predict(t));
        Console.WriteLine(r + $" {r.PerSecond}");
    }
}
