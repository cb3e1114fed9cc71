using FineTuneService.Platform.Http;

namespace FineTuneService.Platform.Identity;

/// <summary>Why a presented key was refused (invalid, revoked, expired): answered as a 401 with that code by the
/// authentication challenge.</summary>
public sealed class ApiKeyRejectedException(ProblemCode code, string message) : ProblemException(code, message);
