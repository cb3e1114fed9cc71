using FineTuneService.Platform.Hosting;

// A Hangfire server on the training queue; HTTP only for /health and /metrics.
var builder = WebApplication.CreateBuilder(args);
builder.AddPlatformDefaults();
builder.AddTrainingWorker();

var app = builder.Build();
app.UsePlatformDefaults();
app.Run();
