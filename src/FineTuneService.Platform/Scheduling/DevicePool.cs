using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Scheduling;

/// <summary>The worker's devices (<c>Worker:Devices</c>). Hangfire runs one worker per device, so a running job always
/// finds one free; it gives it back when it ends.</summary>
public sealed class DevicePool(IOptions<WorkerOptions> options)
{
    readonly ConcurrentQueue<string> free = new(options.Value.DeviceList);

    public Device Take() => free.TryDequeue(out var name) ? new Device(this, name)
        : throw new InvalidOperationException("No free device: the Hangfire worker count must equal the number of devices.");

    public sealed class Device(DevicePool pool, string name) : IDisposable
    {
        public string Name => name;
        public void Dispose() => pool.free.Enqueue(name);
    }
}
