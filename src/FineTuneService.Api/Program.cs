using FineTuneService.Platform.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddPlatformDefaults();
builder.AddTrainingApi();
if (builder.Configuration.IsEmbedded()) builder.AddTrainingWorker();

var app = builder.Build();
app.UsePlatformDefaults();
app.MapTrainingApi();
app.Run();
