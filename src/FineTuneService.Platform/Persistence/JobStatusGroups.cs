namespace FineTuneService.Platform.Persistence;

public static class JobStatusGroups
{
    public static readonly JobStatus[] Finished = [JobStatus.Succeeded, JobStatus.Failed, JobStatus.Cancelled];
}
