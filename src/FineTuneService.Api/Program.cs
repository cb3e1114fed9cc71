using FineTuneService.Platform.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddPlatformDefaults();
builder.AddTrainingApi();

var app = builder.Build();
app.UsePlatformDefaults();
app.MapTrainingApi();
app.Run();
