namespace FineTuneService.Platform.Persistence;

/// <summary>A row that belongs to a tenant: <see cref="AppDbContext"/> filters every query by it and stamps new rows with
/// the caller's tenant.</summary>
public interface ITenantOwned
{
    Guid TenantId { get; set; }
}
