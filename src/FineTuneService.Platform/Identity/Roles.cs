namespace FineTuneService.Platform.Identity;

/// <summary>What a key may do: <c>admin</c> everything in every tenant, <c>member</c> read and write in its tenant,
/// <c>reader</c> read in its tenant, <c>inference</c> only predict and tokenize.</summary>
public static class Roles
{
    public const string Admin = "admin";
    public const string Member = "member";
    public const string Reader = "reader";
    public const string Inference = "inference";

    public static readonly string[] All = [Admin, Member, Reader, Inference];
    public static readonly string[] Readers = [Admin, Member, Reader];
    public static readonly string[] Writers = [Admin, Member];
}
