using System.Diagnostics;
using System.Text.Json.Nodes;
using FineTuneService.TestData;
using TorchSharp;

namespace FineTuneService.Benchmarks;

/// <summary>The PyTorch peer proves it is at its best before it is timed: the BLAS it actually loaded is an optimised,
/// multithreaded one (the benchmark installs <c>libopenblas0-pthread</c> when it is missing, then checks again); on
/// OpenBLAS, the kernel (<c>OPENBLAS_CORETYPE</c>) is the fastest of those the CPU's flags allow, measured; its
/// <see cref="GemmSize"/>³ fp32 matrix product reaches <see cref="MinGemmFraction"/> of ours (our libtorch, same
/// threads, alternating runs); and it reproduces the fixture's reference outputs. A failed check refuses every
/// comparison against the peer, with <see cref="Failure"/> as the reason.</summary>
public sealed record PeerCheck(string? Failure, JsonObject Report)
{
    public const int GemmSize = 1024;

    /// <summary>A sane fraction of our matrix product: the Intel Xeon of issue 16 ran OpenBLAS's detected (wrong) kernel
    /// at a quarter of its best, its best near MKL's.</summary>
    public const double MinGemmFraction = 0.5;

    public const double ParityTolerance = 1e-4;

    public bool Passed => Failure is null;

    /// <summary>OpenBLAS 0.3's x86-64 kernels and the CPU flags each needs, slowest first.</summary>
    public static readonly (string Core, string[] Flags)[] Kernels =
    [
        ("Prescott", ["pni"]),
        ("Nehalem", ["sse4_2"]),
        ("Sandybridge", ["avx"]),
        ("Haswell", ["avx2", "fma"]),
        ("Zen", ["avx2", "fma"]),
        ("SkylakeX", ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]),
        ("Cooperlake", ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16"]),
        ("SapphireRapids", ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16", "amx_bf16", "amx_tile"]),
    ];

    /// <summary>The kernels this CPU can run.</summary>
    public static IReadOnlyList<string> Candidates(ISet<string> cpuFlags) =>
        [.. Kernels.Where(k => k.Flags.All(cpuFlags.Contains)).Select(k => k.Core)];

    /// <summary>The peer's BLAS is fit to benchmark against, or why not: the reference BLAS and a sequential OpenBLAS
    /// are not. <paramref name="probe"/> is what <c>peer/probe.py</c> printed.</summary>
    public static string? BlasFailure(JsonObject probe, int cores)
    {
        var library = probe["blas_library"]?.GetValue<string>() ?? "no BLAS library";
        if (probe["openblas"] is JsonObject openblas)
        {
            return openblas["parallel"]!.GetValue<string>() == "sequential" && cores > 1
                ? $"PyTorch's sgemm is a sequential OpenBLAS ({library}): one thread on {cores} cores; install libopenblas0-pthread"
                : null;
        }
        if (library.Contains("mkl") || probe["blas_info"]?.GetValue<string>() == "mkl")
        {
            return null;
        }
        return $"PyTorch's sgemm is {library} (BLAS_INFO={probe["blas_info"]}): the reference BLAS, unoptimised and single-threaded, " +
            "~30× slower; install libopenblas0-pthread (and let libblas.so.3 point at it)";
    }

    /// <summary>Runs the checks on <paramref name="device"/> with <paramref name="fixtureDir"/>'s model and sets
    /// <see cref="PythonPeer.Tuning"/> to the environment they chose. <paramref name="referenceOutputs"/> holds ONNX
    /// Runtime's outputs of the model (<c>{"cases": [{input_ids, token_type_ids, last_hidden_state, pooler_output}]}</c>);
    /// without it (random weights) the peer is held to its own model in float64 on the CPU.</summary>
    public static PeerCheck Run(string fixtureDir, string? referenceOutputs, torch.Device device)
    {
        PythonPeer.EnsureInstalled();
        var report = new JsonObject { ["name"] = "peer_check", ["python"] = PythonPeer.Python };
        var cores = Environment.ProcessorCount;
        var onCpu = device.type == DeviceType.CPU;
        // The environment may preset both for older OpenBLAS builds; the benchmark measures instead, in peer commands only.
        report["preset"] = new JsonObject
        {
            ["OPENBLAS_CORETYPE"] = Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE"),
            ["OPENBLAS_L2_SIZE"] = Environment.GetEnvironmentVariable("OPENBLAS_L2_SIZE"),
        };
        var tuning = new Dictionary<string, string?> { ["OPENBLAS_CORETYPE"] = null, ["OPENBLAS_L2_SIZE"] = null };
        string? failure = null;

        var probe = Probe(tuning, cores, "cpu");
        if (BlasFailure(probe, cores) is not null && PythonPeer.IsDebians && IsRoot() && !IsInstalled("libopenblas0-pthread"))
        {
            report["first_blas"] = BlasSummary(probe);
            report["installed"] = "libopenblas0-pthread";
            PythonPeer.Install(["libopenblas0-pthread"]);
            probe = Probe(tuning, cores, "cpu");
        }
        report["torch"] = probe["torch"]!.DeepClone();
        report["blas"] = BlasSummary(probe);
        report["detected_kernel"] = probe["openblas"]?["corename"]?.DeepClone();
        failure = BlasFailure(probe, cores);

        if (failure is null && probe["openblas"] is JsonObject)
        {
            var (chosen, kernels) = FastestKernel(tuning, cores);
            report["openblas_kernel"] = kernels;
            if (chosen is null)
            {
                failure = "no OpenBLAS kernel that this CPU's flags allow could be forced (OPENBLAS_CORETYPE)";
            }
            tuning["OPENBLAS_CORETYPE"] = chosen;
        }

        if (failure is null)
        {
            var deviceName = onCpu ? "cpu" : device.ToString();
            JsonObject peerProbe = new();
            var (ours, peer) = Alternating.Run($"{GemmSize}³ fp32 matrix product, GFLOP/s",
                () => OursGflops(GemmSize, device), () => (peerProbe = Probe(tuning, cores, deviceName))["gemm_gflops"]!.GetValue<double>());
            var fraction = peer.Median / ours.Median;
            report["gemm"] = new JsonObject
            {
                ["size"] = GemmSize,
                ["device"] = deviceName,
                ["threads"] = cores,
                ["ours_gflops"] = Spread(ours),
                ["peer_gflops"] = Spread(peer),
                ["fraction"] = Math.Round(fraction, 3),
                ["min_fraction"] = MinGemmFraction,
            };
            if (!onCpu)
            {
                report["gemm"]!["peer_device_name"] = peerProbe["device_name"]?.DeepClone();
                report["gemm"]!["peer_allow_tf32"] = peerProbe["allow_tf32_matmul"]?.DeepClone();
                report["gemm"]!["ours_allow_tf32"] = torch.backends.cuda.matmul.allow_tf32;
            }
            if (!onCpu && peerProbe["allow_tf32_matmul"]?.GetValue<bool>() != torch.backends.cuda.matmul.allow_tf32)
            {
                failure = $"TF32 matrix products are {(torch.backends.cuda.matmul.allow_tf32 ? "on" : "off")} for ours and not for the peer";
            }
            else if (fraction < MinGemmFraction)
            {
                failure = $"the peer's {GemmSize}³ fp32 matrix product runs at {peer.Median:F1} GFLOP/s, {fraction:P0} of our libtorch's " +
                    $"{ours.Median:F1} on the same {cores} threads (at least {MinGemmFraction:P0} expected)";
            }
        }

        if (failure is null)
        {
            string[] reference = referenceOutputs is null ? [] : ["--reference", referenceOutputs];
            var parity = PythonPeer.Script("torch_bert.py", ["parity", "--model-dir", fixtureDir, .. reference, "--device", onCpu ? "cpu" : device.ToString()],
                cores, cores, tuning);
            report["parity"] = new JsonObject
            {
                ["against"] = parity["against"]!.DeepClone(),
                ["cases"] = parity["cases"]!.DeepClone(),
                ["max_abs_diff"] = parity["max_abs_diff"]!.DeepClone(),
                ["tolerance"] = ParityTolerance,
            };
            var diff = parity["max_abs_diff"]!.GetValue<double>();
            if (!(diff <= ParityTolerance))
            {
                failure = $"the peer's outputs differ from {parity["against"]} by {diff:G3} (tolerance {ParityTolerance:G1})";
            }
        }

        report["passed"] = failure is null;
        if (failure is not null)
        {
            report["reason"] = failure;
        }
        PythonPeer.Tuning = tuning;
        return new PeerCheck(failure, report);
    }

    /// <summary>ONNX Runtime's outputs of the MiniLM export on the committed parity inputs, written for the peer to be
    /// held to; null where the export is not there (the GPU kit, whose weights are random).</summary>
    public static string? ReferenceOutputs(string work)
    {
        if (!File.Exists(MiniLm.OnnxPath))
        {
            return null;
        }
        using var reference = new MiniLmReference();
        var cases = new JsonArray([.. reference.ParityCases().Select(c => (JsonNode)new JsonObject
        {
            ["input_ids"] = new JsonArray([.. c.InputIds.Select(i => (JsonNode)i)]),
            ["token_type_ids"] = new JsonArray([.. c.TokenTypeIds.Select(i => (JsonNode)i)]),
            ["last_hidden_state"] = new JsonArray([.. c.LastHiddenState.Select(v => (JsonNode)v)]),
            ["pooler_output"] = new JsonArray([.. c.PoolerOutput.Select(v => (JsonNode)v)]),
        })]);
        var path = Path.Combine(work, "minilm-reference-outputs.json");
        File.WriteAllText(path, new JsonObject { ["cases"] = cases }.ToJsonString());
        return path;
    }

    /// <summary>Each kernel the CPU allows, forced in turn (round robin, <see cref="Alternating.Rounds"/> rounds) on
    /// the product of <see cref="GemmSize"/>; a kernel OpenBLAS does not know (it falls back to detection) is left out.
    /// The fastest is the one whose best run is fastest.</summary>
    static (string? Chosen, JsonObject Kernels) FastestKernel(Dictionary<string, string?> tuning, int cores)
    {
        var candidates = Candidates(Fingerprint.CpuFlags());
        var rates = candidates.ToDictionary(c => c, _ => new List<double>());
        var json = new JsonObject();
        for (int round = 0; round < Alternating.Rounds; round++)
        {
            foreach (var core in candidates.Where(rates.ContainsKey).ToArray())
            {
                var probe = Probe(new Dictionary<string, string?>(tuning) { ["OPENBLAS_CORETYPE"] = core }, cores, "cpu");
                var ran = probe["openblas"]?["corename"]?.GetValue<string>() ?? "?";
                if (!string.Equals(ran, core, StringComparison.OrdinalIgnoreCase))
                {
                    rates.Remove(core);
                    json[core] = $"not forced: OpenBLAS ran {ran}";
                    continue;
                }
                rates[core].Add(probe["gemm_gflops"]!.GetValue<double>());
            }
        }
        foreach (var (core, values) in rates)
        {
            json[core] = Spread(new Spread(values));
        }
        // By each kernel's best run: a busy neighbour only ever slows a run down, so the best is the least disturbed.
        var chosen = rates.Count == 0 ? null : rates.MaxBy(r => r.Value.Max()).Key;
        Console.Error.WriteLine($"  OpenBLAS kernels, {GemmSize}³ GFLOP/s: {string.Join(", ", rates.Select(r => $"{r.Key} {new Spread(r.Value)}"))}; fastest {chosen}");
        json["chosen"] = chosen;
        return (chosen, json);
    }

    static JsonObject Probe(IReadOnlyDictionary<string, string?> tuning, int threads, string device) =>
        PythonPeer.Script("probe.py", ["--size", GemmSize.ToString(), "--threads", threads.ToString(), "--device", device], threads, threads, tuning);

    /// <summary>Our side of the matrix product: libtorch in this process, the same size, threads and timing as probe.py.</summary>
    public static double OursGflops(int n, torch.Device device)
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.randn(n, n, device: device);
        var b = torch.randn(n, n, device: device);
        void Sync()
        {
            if (device.type == DeviceType.CUDA)
            {
                torch.cuda.synchronize(device);
            }
        }
        for (int i = 0; i < 2; i++)
        {
            torch.mm(a, b).Dispose();
        }
        Sync();
        double best = 0, spent = 0;
        for (int reps = 0; spent < 0.5 || reps < 3; reps++)
        {
            long started = Stopwatch.GetTimestamp();
            torch.mm(a, b).Dispose();
            Sync();
            var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
            best = Math.Max(best, 2.0 * n * n * n / elapsed / 1e9);
            spent += elapsed;
        }
        return best;
    }

    static JsonObject BlasSummary(JsonObject probe) => new()
    {
        ["sgemm_from"] = probe["blas_library"]?.DeepClone(),
        ["loaded"] = probe["loaded_blas_libraries"]!.DeepClone(),
        ["blas_info"] = probe["blas_info"]?.DeepClone(),
        ["openblas"] = probe["openblas"]?.DeepClone(),
    };

    static JsonObject Spread(Spread s) => new()
    {
        ["median"] = Math.Round(s.Median, 1),
        ["min"] = Math.Round(s.Min, 1),
        ["max"] = Math.Round(s.Max, 1),
    };

    static bool IsRoot() => Environment.UserName == "root";

    static bool IsInstalled(string package) =>
        PythonPeer.Exec("dpkg-query", ["-W", "-f=${Status}", package], null).Output.Contains("install ok installed");
}
