namespace FineTuneService.Platform.Http;

/// <summary>The rule for a name a client gives a dataset, a model, a tenant or a key.</summary>
public static class DisplayName
{
    public const int MaxLength = 200;
}
