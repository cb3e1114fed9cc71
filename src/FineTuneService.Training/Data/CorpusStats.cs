namespace FineTuneService.Training.Data;

/// <summary>What an inspection pass over a corpus counts: documents, non-blank lines, and uncompressed bytes.</summary>
public sealed record CorpusStats(long Documents, long Lines, long Bytes);
