using System.IO.Compression;

namespace FineTuneService.Training.Data;

/// <summary>Data files may be gzip-compressed; the gzip magic bytes decide, whatever the file's name.</summary>
public static class Compression
{
    public static bool IsGzip(string path)
    {
        using var file = File.OpenRead(path);
        return IsGzip(file);
    }

    /// <summary>The file's bytes, decompressed on the fly when it is gzip.</summary>
    public static Stream OpenDecompressed(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var gzip = IsGzip(file);
        file.Position = 0;
        return gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
    }

    static bool IsGzip(Stream stream)
    {
        Span<byte> magic = stackalloc byte[2];
        return stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    }
}
