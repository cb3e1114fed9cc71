namespace FineTuneService.Platform.Http;

/// <summary>One entry of the error vocabulary: the stable <c>code</c> a client matches on (also the end of the
/// problem's <c>type</c>), its HTTP status and the title every problem with it carries.</summary>
public sealed record ProblemCode(string Code, int Status, string Title);
