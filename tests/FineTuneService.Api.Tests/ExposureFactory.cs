namespace FineTuneService.Api.Tests;

/// <summary>The exposure settings turned around: metrics public, health behind an admin key.</summary>
public class ExposureFactory : ApiFactory
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["Auth:Metrics"] = "public", ["Auth:Health"] = "admin" };
}
