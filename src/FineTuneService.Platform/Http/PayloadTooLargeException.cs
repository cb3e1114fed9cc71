namespace FineTuneService.Platform.Http;

/// <summary>An upload past its configured limit: 413 <c>payload_too_large</c>, naming the field.</summary>
public sealed class PayloadTooLargeException(string field, long limitBytes)
    : ProblemException(ProblemCodes.PayloadTooLarge, Describe(field, limitBytes), new Dictionary<string, string[]> { [field] = [Describe(field, limitBytes)] })
{
    static string Describe(string field, long limitBytes) => $"'{field}' is larger than the limit of {limitBytes} bytes.";
}
