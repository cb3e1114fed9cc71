using Microsoft.AspNetCore.Http;

namespace FineTuneService.Platform.Http;

/// <summary>Every <c>code</c> a problem answer can carry: the OpenAPI document lists these, and clients may rely on them.
/// A new refusal adds its entry here, with a status of its own kind.</summary>
public static class ProblemCodes
{
    public static readonly ProblemCode ValidationFailed = new("validation_failed", StatusCodes.Status400BadRequest, "One or more fields are not valid.");
    public static readonly ProblemCode BadRequest = new("bad_request", StatusCodes.Status400BadRequest, "Bad request.");
    public static readonly ProblemCode HostNotAllowed = new("host_not_allowed", StatusCodes.Status400BadRequest, "The Host header is not allowed.");
    public static readonly ProblemCode ApiKeyRequired = new("api_key_required", StatusCodes.Status401Unauthorized, "An API key is required.");
    public static readonly ProblemCode ApiKeyInvalid = ApiKeyRequired with { Code = "api_key_invalid" };
    public static readonly ProblemCode ApiKeyRevoked = ApiKeyRequired with { Code = "api_key_revoked" };
    public static readonly ProblemCode ApiKeyExpired = ApiKeyRequired with { Code = "api_key_expired" };
    public static readonly ProblemCode Forbidden = new("forbidden", StatusCodes.Status403Forbidden, "The key's role does not allow this.");
    public static readonly ProblemCode CrossSiteRequest = new("cross_site_request", StatusCodes.Status403Forbidden, "Cross-site requests cannot change anything.");
    public static readonly ProblemCode StorageQuotaExceeded = new("storage_quota_exceeded", StatusCodes.Status403Forbidden, "The tenant's storage quota is used up.");
    public static readonly ProblemCode SharedModelReadOnly = new("shared_model_read_only", StatusCodes.Status403Forbidden, "A shared model is read-only.");
    public static readonly ProblemCode NotFound = new("not_found", StatusCodes.Status404NotFound, "Not found.");
    public static readonly ProblemCode MethodNotAllowed = new("method_not_allowed", StatusCodes.Status405MethodNotAllowed, "Method not allowed.");
    public static readonly ProblemCode Conflict = new("conflict", StatusCodes.Status409Conflict, "Conflict.");
    public static readonly ProblemCode PayloadTooLarge = new("payload_too_large", StatusCodes.Status413PayloadTooLarge, "The upload is too large.");
    public static readonly ProblemCode UnsupportedMediaType = new("unsupported_media_type", StatusCodes.Status415UnsupportedMediaType, "Unsupported media type.");
    public static readonly ProblemCode TooManyRequests = new("too_many_requests", StatusCodes.Status429TooManyRequests, "Too many requests.");
    public static readonly ProblemCode QueuedJobsQuotaExceeded = new("queued_jobs_quota_exceeded", StatusCodes.Status429TooManyRequests, "The tenant's job queue is full.");
    public static readonly ProblemCode InternalError = new("internal_error", StatusCodes.Status500InternalServerError, "An unexpected error occurred.");
    public static readonly ProblemCode ServiceUnavailable = new("service_unavailable", StatusCodes.Status503ServiceUnavailable, "The database is unavailable; try again shortly.");
    public static readonly ProblemCode InsufficientStorage = new("insufficient_storage", StatusCodes.Status507InsufficientStorage, "The service's disk is full.");
    public static readonly ProblemCode ModelNotReady = new("model_not_ready", StatusCodes.Status409Conflict, "The model is not ready.");
    public static readonly ProblemCode UnsupportedArchitecture = new("unsupported_architecture", StatusCodes.Status400BadRequest, "The model's architecture is not supported.");
    // Importing from the Hugging Face Hub.
    public static readonly ProblemCode HubNoSafetensors = new("hub_no_safetensors", StatusCodes.Status400BadRequest, "The repository has no safetensors weights.");
    public static readonly ProblemCode HubRepoGated = new("hub_repo_gated", StatusCodes.Status403Forbidden, "The Hub refused access to the repository.");
    public static readonly ProblemCode HubRepoNotFound = new("hub_repo_not_found", StatusCodes.Status404NotFound, "The Hub has no such model.");
    public static readonly ProblemCode HubRevisionNotFound = new("hub_revision_not_found", StatusCodes.Status404NotFound, "The Hub has no such revision.");
    public static readonly ProblemCode HubFileNotFound = new("hub_file_not_found", StatusCodes.Status404NotFound, "The Hub has no such file.");
    public static readonly ProblemCode HubUnavailable = new("hub_unavailable", StatusCodes.Status502BadGateway, "The Hub cannot be reached or answered with an error.");
    public static readonly ProblemCode HubChecksumMismatch = new("hub_checksum_mismatch", StatusCodes.Status502BadGateway, "A file from the Hub does not match its hash.");
    public static readonly ProblemCode HubProtocolError = new("hub_protocol_error", StatusCodes.Status502BadGateway, "The Hub's answer breaks its protocol.");
    /// <summary>Any other status (one the framework answers by itself).</summary>
    public static readonly ProblemCode Error = new("error", 0, "Error.");

    /// <summary>Validation first: generated clients name the enum after it.</summary>
    public static IReadOnlyList<ProblemCode> All { get; } =
    [
        ValidationFailed, BadRequest, HostNotAllowed, ApiKeyRequired, ApiKeyInvalid, ApiKeyRevoked, ApiKeyExpired, Forbidden, CrossSiteRequest,
        StorageQuotaExceeded, SharedModelReadOnly, NotFound, MethodNotAllowed, Conflict, PayloadTooLarge, UnsupportedMediaType, TooManyRequests,
        QueuedJobsQuotaExceeded, InternalError, ServiceUnavailable, InsufficientStorage, ModelNotReady, UnsupportedArchitecture, HubNoSafetensors,
        HubRepoGated, HubRepoNotFound, HubRevisionNotFound, HubFileNotFound, HubUnavailable, HubChecksumMismatch, HubProtocolError, Error,
    ];

    /// <summary>The code of a problem that names none (status-code pages, the framework's own answers): the first
    /// entry with its status; a 400 with field errors is <see cref="ValidationFailed"/>.</summary>
    public static ProblemCode ForStatus(int status, bool hasFieldErrors) => status switch
    {
        StatusCodes.Status400BadRequest => hasFieldErrors ? ValidationFailed : BadRequest,
        >= 500 and not StatusCodes.Status503ServiceUnavailable => InternalError,
        _ => All.FirstOrDefault(c => c.Status == status) ?? Error,
    };
}
