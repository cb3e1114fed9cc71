namespace FineTuneService.Training.Models;

/// <summary>A kind of job (<see cref="TaskCatalogue.JobTypes"/>): its name in a job spec and what a validation split holds
/// out of its training data (rows of a table, documents of a corpus).</summary>
public sealed record JobType(string Name, string SplitUnit);
