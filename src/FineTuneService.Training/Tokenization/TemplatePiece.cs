namespace FineTuneService.Training.Tokenization;

/// <summary>One piece of a post-processor's template: a special token (its id) or a sequence (A, or B when
/// <see cref="Second"/>), with the token type id it gets.</summary>
public readonly record struct TemplatePiece(int? SpecialId, bool Second, int TypeId)
{
    public static TemplatePiece A(int typeId = 0) => new(null, false, typeId);
    public static TemplatePiece B(int typeId = 1) => new(null, true, typeId);
    public static TemplatePiece Special(int id, int typeId = 0) => new(id, false, typeId);
}
