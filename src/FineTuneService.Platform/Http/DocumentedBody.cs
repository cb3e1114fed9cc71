namespace FineTuneService.Platform.Http;

/// <summary>Endpoint metadata read by the OpenAPI document: the body a handler reads itself.</summary>
public sealed record DocumentedBody(Type Type, string ContentType, bool Required);
