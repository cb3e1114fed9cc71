using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;

namespace FineTuneService.Benchmarks;

/// <summary>Where a figure came from: the machine (CPU model and SIMD flags, cores, memory, load average), the
/// libraries our side runs on (libtorch and its BLAS and threads, ONNX Runtime) and the GPU if any. Printed as the
/// first line of every benchmark command, and the load average again as its last.</summary>
public static class Fingerprint
{
    /// <summary>The CPU flags that decide which matrix kernels can run.</summary>
    static readonly string[] KernelFlagPrefixes = ["sse", "ssse", "avx", "fma", "f16c", "amx"];

    public static JsonObject Collect()
    {
        var cpuinfo = File.Exists("/proc/cpuinfo") ? File.ReadAllLines("/proc/cpuinfo") : [];
        var meminfo = File.Exists("/proc/meminfo") ? File.ReadAllLines("/proc/meminfo") : [];
        var flags = CpuFlags();
        var fingerprint = new JsonObject
        {
            ["name"] = "fingerprint",
            ["utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
            ["cpu"] = Field(cpuinfo, "model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
            ["cpu_flags"] = string.Join(' ', flags.Where(f => KernelFlagPrefixes.Any(p => f.StartsWith(p, StringComparison.Ordinal))).Order(StringComparer.Ordinal)),
            ["hypervisor"] = flags.Contains("hypervisor"),
            ["cores"] = Environment.ProcessorCount,
            ["memory_gib"] = Math.Round(Kib(meminfo, "MemTotal") / 1048576.0, 1),
            ["memory_available_gib"] = Math.Round(Kib(meminfo, "MemAvailable") / 1048576.0, 1),
            ["load_average"] = LoadAverage(),
            ["os"] = OsName(),
            ["kernel"] = Environment.OSVersion.Version.ToString(),
            ["dotnet"] = RuntimeInformation.FrameworkDescription,
            ["commit"] = Commit(),
            ["libtorch"] = Libtorch(),
            ["onnxruntime"] = OnnxRuntime(),
            ["tokenizers_dotnet"] = typeof(Tokenizers.DotNet.Tokenizer).Assembly.GetName().Version?.ToString(3),
            ["gpu"] = Gpu(),
        };
        return fingerprint;
    }

    /// <summary>"1-minute 5-minute 15-minute runnable/total": how busy the machine was.</summary>
    public static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "unknown";

    public static HashSet<string> CpuFlags() =>
        File.Exists("/proc/cpuinfo") && Field(File.ReadAllLines("/proc/cpuinfo"), "flags") is { } flags
            ? [.. flags.Split(' ', StringSplitOptions.RemoveEmptyEntries)]
            : [];

    /// <summary>Our libtorch: its version, its BLAS (the MKL linked into libtorch_cpu, asked for its version and
    /// threads), its intra- and inter-op threads and the OpenMP settings they run under.</summary>
    static JsonObject Libtorch()
    {
        var json = new JsonObject
        {
            ["torchsharp"] = typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0],
            ["version"] = torch.__version__,
            ["threads"] = torch.get_num_threads(),
            ["interop_threads"] = torch.get_num_interop_threads(),
            ["OMP_NUM_THREADS"] = Environment.GetEnvironmentVariable("OMP_NUM_THREADS"),
            ["OMP_WAIT_POLICY"] = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"),
            ["cuda"] = torch.cuda.is_available(),
        };
        json["blas"] = Mkl() ?? "unknown: libtorch_cpu exports no MKL_Get_Version_String";
        return json;
    }

    /// <summary>ONNX Runtime's version and kernels; its threads are each comparison's settings. The GPU kit ships without it.</summary>
    static JsonNode? OnnxRuntime()
    {
        try
        {
            return new JsonObject { ["version"] = OrtEnv.Instance().GetVersionString(), ["kernels"] = "MLAS (ONNX Runtime's own; no BLAS)" };
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            return "not shipped";
        }
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    delegate void MklVersionString(byte[] buffer, int length);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    delegate int MklMaxThreads();

    static string? Mkl()
    {
        if (!NativeLibrary.TryLoad("libtorch_cpu.so", out var handle)
            || !NativeLibrary.TryGetExport(handle, "MKL_Get_Version_String", out var versionExport))
        {
            return null;
        }
        var buffer = new byte[256];
        Marshal.GetDelegateForFunctionPointer<MklVersionString>(versionExport)(buffer, buffer.Length);
        var version = Encoding.ASCII.GetString(buffer).TrimEnd('\0', ' ');
        var threads = NativeLibrary.TryGetExport(handle, "MKL_Get_Max_Threads", out var threadsExport)
            ? Marshal.GetDelegateForFunctionPointer<MklMaxThreads>(threadsExport)().ToString()
            : "?";
        return $"{version}; {threads} threads";
    }

    static JsonNode? Gpu()
    {
        var smi = PythonPeer.Exec("sh", ["-c", "command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader"], null);
        return smi.ExitCode == 0 && smi.Output.Trim().Length > 0
            ? new JsonArray([.. smi.Output.Trim().Split('\n').Select(line => (JsonNode)line.Trim())])
            : null;
    }

    static string? Commit() =>
        typeof(Fingerprint).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+') is [_, var sha]
            ? sha[..Math.Min(12, sha.Length)]
            : null;

    static string OsName() =>
        File.Exists("/etc/os-release") && File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=")) is { } line
            ? line["PRETTY_NAME=".Length..].Trim('"')
            : RuntimeInformation.OSDescription;

    static string? Field(IEnumerable<string> lines, string key) =>
        lines.Where(l => l.StartsWith(key) && l.Contains(':')).Select(l => l[(l.IndexOf(':') + 1)..].Trim()).FirstOrDefault();

    static long Kib(IEnumerable<string> meminfo, string key) =>
        Field(meminfo, key + ":") is { } value ? long.Parse(value.Split(' ')[0]) : 0;
}
