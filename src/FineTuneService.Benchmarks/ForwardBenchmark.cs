using System.Diagnostics;
using System.Text.Json.Nodes;
using FineTuneService.Training.Inference;
using FineTuneService.Training.Models;

namespace FineTuneService.Benchmarks;

/// <summary>One request at a time, in-process, no HTTP: our <see cref="LoadedModel"/> (tokenize + forward + softmax) on
/// MiniLM with a classification head against ONNX Runtime on the same encoder. It splits predict latency into the
/// model's share and the service's (HTTP, batching), which <see cref="ServiceBenchmarks"/> measures together.</summary>
public static class ForwardBenchmark
{
    public static IEnumerable<Comparison> Run(Fixture fixture, string work, bool quick)
    {
        var dir = Path.Combine(work, "forward-model");
        var model = ModelFolder.Load(fixture.Dir, "BertForSequenceClassification");
        ModelFolder.Export(model, dir, Training.Tokenization.Tokenizers.LoadFromFolder(fixture.Dir));
        model.Module.Dispose();
        using var ours = LoadedModel.Load(dir);
        var threads = TorchSharp.torch.get_num_threads();
        using var peer = new OnnxPeer(Path.Combine(fixture.Dir, "tokenizer.json"), threads);
        var texts = fixture.Texts.Take(quick ? 200 : 1000).ToArray();
        // Rounds of the whole text set; within a round the two sides already take turns request by request.
        var rounds = Enumerable.Range(0, Alternating.Rounds).Select(round =>
        {
            var (oursMs, peerMs) = Latencies(texts, text => ours.Predict([new PredictInput(text)], PredictOptions.Default), text => peer.Predict(text));
            Console.Error.WriteLine($"  forward round {round + 1}/{Alternating.Rounds}: p50 ours {LoadGenerator.Percentile(oursMs, 0.5):F2} ms, peer {LoadGenerator.Percentile(peerMs, 0.5):F2} ms");
            return (Ours: oursMs, Peer: peerMs);
        }).ToArray();
        var detail = new JsonObject { ["requests"] = texts.Length };
        var oursSettings = new SideSettings("cpu", threads, "fp32", 1, $"LoadedModel on {ours.Engine}") { Wait = OnnxPeer.Wait };
        var peerSettings = new SideSettings("cpu", threads, "fp32", 1, $"ONNX Runtime {Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString()}")
        {
            Wait = OnnxPeer.Wait,
        };
        foreach (var (name, p) in new[] { ("forward_c1_p50_ms", 0.50), ("forward_c1_p99_ms", 0.99) })
        {
            yield return new Comparison(name, new Spread([.. rounds.Select(r => LoadGenerator.Percentile(r.Ours, p))]),
                new Spread([.. rounds.Select(r => LoadGenerator.Percentile(r.Peer, p))]), "ms", null, p == 0.50 ? detail : null)
                .WithSettings(oursSettings, peerSettings, Environment.ProcessorCount);
        }
    }

    /// <summary>Sorted latencies of both, each text predicted by one and then the other, so that a noisy machine's
    /// slow moments fall on both alike.</summary>
    static (double[] Ours, double[] Peer) Latencies(string[] texts, Action<string> ours, Action<string> peer)
    {
        foreach (var text in texts.Take(20))
        {
            ours(text);
            peer(text);
        }
        double[] oursMs = new double[texts.Length], peerMs = new double[texts.Length];
        for (int i = 0; i < texts.Length; i++)
        {
            oursMs[i] = Milliseconds(ours, texts[i]);
            peerMs[i] = Milliseconds(peer, texts[i]);
        }
        Array.Sort(oursMs);
        Array.Sort(peerMs);
        return (oursMs, peerMs);
    }

    static double Milliseconds(Action<string> predict, string text)
    {
        long started = Stopwatch.GetTimestamp();
        predict(text);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }
}
