using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using FineTuneService.Platform.Http;
using FineTuneService.Platform.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Serving;

public static class InferenceExtensions
{
    /// <summary>The rate limiter policy of the predict and tokenize endpoints.</summary>
    public const string RateLimitPolicy = "inference";

    /// <summary>The model cache and the dynamic batcher behind <see cref="PredictEndpoints"/>, configured from <c>Inference</c>,
    /// and a token bucket per client (<c>Inference:RequestsPerSecondPerClient</c>, <c>Inference:BurstPerClient</c>).</summary>
    public static WebApplicationBuilder AddInference(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<InferenceOptions>().BindConfiguration("Inference").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ModelCache>();
        builder.Services.AddSingleton<DynamicBatcher>();
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<InferenceOptions>>((limiter, inference) =>
        {
            var limits = inference.Value;
            limiter.AddPolicy(RateLimitPolicy, context => RateLimitPartition.GetTokenBucketLimiter(Client(context), _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = limits.BurstPerClient,
                TokensPerPeriod = Math.Max(1, (int)Math.Ceiling(limits.RequestsPerSecondPerClient)),
                ReplenishmentPeriod = TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(limits.RequestsPerSecondPerClient)) / limits.RequestsPerSecondPerClient),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                var http = rejected.HttpContext;
                await ProblemExceptionHandler.WriteAsync(http.RequestServices.GetRequiredService<IProblemDetailsService>(), http, new TooManyRequestsException(
                    "This client sent more requests than it may (Inference:RequestsPerSecondPerClient); try again shortly.", retryAfter));
            };
        });
        return builder;
    }

    /// <summary>Who a request counts against: its authenticated API key; without one (open mode), its credentials
    /// hashed, else its remote address.</summary>
    static string Client(HttpContext context) =>
        Caller.From(context.User) is { KeyId: { } key } ? $"key:{key:N}"
        : context.Request.Headers.Authorization.ToString() is { Length: > 0 } credentials
            ? "credentials:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(credentials)))[..32]
            : "ip:" + context.Connection.RemoteIpAddress;
}
