using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace FineTuneService.Platform.Http;

/// <summary>Streams a multipart/form-data body to disk (never buffered in memory, never through IFormFile, so the
/// size limit is ours to set), hashing file parts as they pass.</summary>
public static class MultipartUpload
{
    const int MaxFieldLength = 4096;

    public static async Task<UploadedForm> ReadAsync(HttpRequest request, string folder, string fileField, long limitBytes, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(contentType.Boundary).Value is not { Length: > 0 } boundary)
        {
            throw new BadHttpRequestException("Send multipart/form-data.", StatusCodes.Status415UnsupportedMediaType);
        }

        // Kestrel's own limit must sit above ours (plus room for part headers) before anything reads the body.
        const long envelope = 1 << 20;
        if (request.ContentLength > limitBytes + envelope) throw new PayloadTooLargeException(fileField, limitBytes);
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            sizeFeature.MaxRequestBodySize = limitBytes + envelope;

        var fields = new Dictionary<string, string>();
        var files = new List<UploadedFile>();
        long total = 0;
        var reader = new MultipartReader(boundary, request.Body);
        while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)) continue;
            var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
            if (disposition.IsFileDisposition())
            {
                if (name != fileField) throw new RequestValidationException(name, $"unexpected file part; send files as '{fileField}'");
                var path = Path.Combine(folder, Path.GetRandomFileName());
                var (length, sha256) = await CopyAsync(section.Body, path, limitBytes - total, fileField, limitBytes, cancellationToken);
                total += length;
                var clientName = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value ?? "";
                files.Add(new UploadedFile(name, clientName, path, length, sha256));
            }
            else
            {
                var buffer = new char[MaxFieldLength + 1];
                using var text = new StreamReader(section.Body);
                var read = await text.ReadBlockAsync(buffer, cancellationToken);
                if (read > MaxFieldLength) throw new RequestValidationException(name, $"longer than {MaxFieldLength} characters");
                fields[name] = new string(buffer, 0, read);
            }
        }
        return new UploadedForm(fields, files);
    }

    static async Task<(long Length, string Sha256)> CopyAsync(Stream source, string path, long remaining, string field, long limitBytes, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var target = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        var buffer = new byte[1 << 16];
        long length = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            length += read;
            if (length > remaining) throw new PayloadTooLargeException(field, limitBytes);
            hash.AppendData(buffer, 0, read);
            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
        return (length, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
