namespace FineTuneService.Platform.Http;

/// <summary>No such resource, or one the caller may not see (another tenant's): 404 <c>not_found</c>.</summary>
public sealed class NotFoundException(string resource, Guid id) : ProblemException(ProblemCodes.NotFound, $"No {resource} with id {id}.");
