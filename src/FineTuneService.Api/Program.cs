using FineTuneService.Platform.Hosting;
using FineTuneService.Platform.Serving;

var builder = WebApplication.CreateBuilder(args);
builder.AddPlatformDefaults();
builder.AddTrainingApi();
builder.AddInference();
if (builder.Configuration.IsEmbedded()) builder.AddTrainingWorker();

var app = builder.Build();
app.UsePlatformDefaults();
app.MapTrainingApi();
app.MapPredictEndpoints();
app.Run();
