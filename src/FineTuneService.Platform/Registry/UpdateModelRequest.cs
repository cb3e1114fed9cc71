namespace FineTuneService.Platform.Registry;

/// <summary><c>PATCH /models/{id}</c> (admin): <c>shared</c> makes a model readable by every tenant, and writable by none.</summary>
public sealed record UpdateModelRequest(bool? Shared);
