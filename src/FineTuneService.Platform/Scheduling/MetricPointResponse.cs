using FineTuneService.Platform.Persistence;

namespace FineTuneService.Platform.Scheduling;

public sealed record MetricPointResponse(int Step, double Epoch, string Name, double Value, string Split)
{
    public static MetricPointResponse From(MetricPoint p) => new(p.Step, p.Epoch, p.Name, p.Value, p.Split);
}
