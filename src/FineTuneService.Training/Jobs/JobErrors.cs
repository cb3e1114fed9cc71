namespace FineTuneService.Training.Jobs;

/// <summary>A job check's problems: every message under the part of the job it concerns.</summary>
static class JobErrors
{
    public static void Append(this Dictionary<JobField, string[]> errors, JobField field, string message) =>
        errors[field] = errors.TryGetValue(field, out var messages) ? [.. messages, message] : [message];
}
