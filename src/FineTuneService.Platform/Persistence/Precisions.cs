namespace FineTuneService.Platform.Persistence;

public static class Precisions
{
    public const string Fp32 = "fp32";
    public const string Int8 = "int8";
}
