namespace FineTuneService.Platform.Identity;

/// <summary>Configuration section <c>Auth</c>.</summary>
public sealed class AuthOptions
{
    /// <summary>The first admin key (<c>Auth__BootstrapAdminKey</c>), valid while configured. Required with PostgreSQL;
    /// when set in embedded mode, keys are required there too.</summary>
    public string? BootstrapAdminKey { get; set; }
    /// <summary><c>/metrics</c>: <c>admin</c> (an admin key, e.g. Prometheus' bearer credentials) or <c>public</c>.</summary>
    public Exposure Metrics { get; set; } = Exposure.Admin;
    /// <summary><c>/health/live</c> and <c>/health/ready</c>: <c>public</c> (probes) or <c>admin</c>.</summary>
    public Exposure Health { get; set; } = Exposure.Public;
}
