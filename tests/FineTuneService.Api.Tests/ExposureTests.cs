using System.Net;

namespace FineTuneService.Api.Tests;

public class ExposureTests(ExposureFactory factory) : IClassFixture<ExposureFactory>
{
    [Fact]
    public async Task Metrics_and_health_follow_their_exposure_settings()
    {
        using var anonymous = factory.Client(null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/metrics")).StatusCode);
        await (await anonymous.GetAsync("/health/live")).AssertProblem(HttpStatusCode.Unauthorized);
        await (await factory.CreateClient().GetAsync("/health/ready")).AssertProblem(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, (await factory.Client(ApiFactory.AdminKey).GetAsync("/health/ready")).StatusCode);
    }
}
