using System.Net;
using System.Security.Cryptography;
using System.Text;
using FineTuneService.Platform.Hosting;
using FineTuneService.Platform.Http;
using FineTuneService.Platform.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Identity;

/// <summary>Makes keys (<c>fts_</c> + 48 hex digits), and turns a presented key into its <see cref="Caller"/>.</summary>
public sealed class ApiKeys(IOptions<AuthOptions> options, IConfiguration configuration, TimeProvider clock)
{
    public const string Prefix = "fts_";
    static readonly TimeSpan LastUseResolution = TimeSpan.FromMinutes(1);

    readonly byte[]? bootstrap = options.Value.BootstrapAdminKey is { Length: > 0 } key ? HashBytes(key) : null;

    /// <summary>Embedded mode without a bootstrap key: requests from this machine need no key (and the host refuses to
    /// listen on anything but loopback).</summary>
    public bool Open { get; } = configuration.IsEmbedded() && string.IsNullOrEmpty(options.Value.BootstrapAdminKey);

    public bool IsOpenFor(IPAddress? remote) => Open && remote is not null && IPAddress.IsLoopback(remote);

    public static (string Key, string Prefix, string Hash) Create()
    {
        var key = Prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        return (key, key[..12], Hash(key));
    }

    public static string Hash(string key) => Convert.ToHexStringLower(HashBytes(key));

    static byte[] HashBytes(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>The caller a key stands for; throws <see cref="ApiKeyRejectedException"/> for an unknown, revoked or expired key.</summary>
    public async Task<Caller> ValidateAsync(string key, AppDbContext db, CancellationToken cancellationToken)
    {
        var hash = HashBytes(key);
        if (bootstrap is not null && CryptographicOperations.FixedTimeEquals(hash, bootstrap)) return Caller.Bootstrap;
        var hex = Convert.ToHexStringLower(hash);
        var stored = await db.ApiKeys.AsNoTracking().Include(k => k.Tenant).FirstOrDefaultAsync(k => k.Hash == hex, cancellationToken)
            ?? throw new ApiKeyRejectedException(ProblemCodes.ApiKeyInvalid, "The API key is not known.");
        var now = clock.GetUtcNow().UtcDateTime;
        if (stored.RevokedAt is not null) throw new ApiKeyRejectedException(ProblemCodes.ApiKeyRevoked, $"The API key '{stored.Name}' was revoked.");
        if (stored.ExpiresAt <= now) throw new ApiKeyRejectedException(ProblemCodes.ApiKeyExpired, $"The API key '{stored.Name}' expired at {stored.ExpiresAt:O}.");
        // Last use to the minute: one write per key per minute, not one per request.
        if (stored.LastUsedAt is null || now - stored.LastUsedAt > LastUseResolution)
            await db.ApiKeys.Where(k => k.Id == stored.Id).ExecuteUpdateAsync(set => set.SetProperty(k => k.LastUsedAt, now), cancellationToken);
        return new Caller(stored.Id, stored.Name, stored.Role, stored.TenantId, stored.Tenant!.Name);
    }
}
