using FineTuneService.Platform.Hosting;
using FineTuneService.Platform.Serving;

// The inference host: predict and tokenize over the models on the shared artifacts volume.
var builder = WebApplication.CreateBuilder(args);
builder.AddPlatformDefaults();
builder.AddInference();

var app = builder.Build();
app.UsePlatformDefaults();
app.MapPredictEndpoints();
app.Run();

public partial class Program;
