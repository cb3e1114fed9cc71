using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuneService.Platform.Inference;

public static class InferenceExtensions
{
    /// <summary>The model cache and the dynamic batcher behind <see cref="PredictEndpoints"/>, configured from <c>Inference</c>.</summary>
    public static WebApplicationBuilder AddInference(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<InferenceOptions>().BindConfiguration("Inference").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ModelCache>();
        builder.Services.AddSingleton<DynamicBatcher>();
        return builder;
    }
}
