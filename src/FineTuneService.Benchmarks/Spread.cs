namespace FineTuneService.Benchmarks;

/// <summary>The figures of repeated runs of one side: the median is the figure, min and max its spread.</summary>
public sealed record Spread(IReadOnlyList<double> Values)
{
    public double Median => Sorted switch
    {
        [] => double.NaN,
        var s when s.Length % 2 == 1 => s[s.Length / 2],
        var s => (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2,
    };

    public double Min => Values.Count == 0 ? double.NaN : Values.Min();

    public double Max => Values.Count == 0 ? double.NaN : Values.Max();

    double[] Sorted => [.. Values.Order()];

    public static Spread Of(params double[] values) => new(values);

    public Spread Select(Func<double, double> map) => new([.. Values.Select(map)]);

    public override string ToString() => $"{Median:G4} [{Min:G4}–{Max:G4}]";
}
