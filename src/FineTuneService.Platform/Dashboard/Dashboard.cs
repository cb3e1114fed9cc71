using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.FileProviders;

namespace FineTuneService.Platform.Dashboard;

/// <summary>The web dashboard at <c>/</c>: static files embedded in this assembly (so every build and publish of the
/// Api host serves them, and nothing is fetched from the internet at run time), talking to the REST API and the job
/// event stream from the browser.</summary>
public static class Dashboard
{
    public static WebApplication MapDashboard(this WebApplication app)
    {
        var files = new EmbeddedFileProvider(typeof(Dashboard).Assembly, "FineTuneService.Platform.Dashboard.wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
        return app;
    }
}
