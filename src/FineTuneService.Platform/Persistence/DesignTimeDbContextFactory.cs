using FineTuneService.Platform.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace FineTuneService.Platform.Persistence;

/// <summary>For <c>dotnet ef migrations add</c>: the migrations are PostgreSQL's.</summary>
sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<AppDbContext>
{
    public AppDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<AppDbContext>().UseNpgsql("Host=localhost").UseSnakeCaseNamingConvention().Options,
            TenantScope.Background);
}
