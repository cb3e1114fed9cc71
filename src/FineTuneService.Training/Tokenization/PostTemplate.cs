using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;

namespace FineTuneService.Training.Tokenization;

/// <summary>What a post-processor adds around one text or a pair (Hugging Face TemplateProcessing; BertProcessing and
/// RobertaProcessing are fixed templates, ByteLevel adds nothing).</summary>
public sealed record PostTemplate(IReadOnlyList<TemplatePiece> Single, IReadOnlyList<TemplatePiece> Pair)
{
    /// <summary>No tokens added; a pair's second text gets type id 1.</summary>
    public static readonly PostTemplate None = new([TemplatePiece.A()], [TemplatePiece.A(), TemplatePiece.B()]);

    /// <summary><c>[CLS] A [SEP]</c>, <c>[CLS] A [SEP] B [SEP]</c> with B's part type 1.</summary>
    public static PostTemplate Bert(int cls, int sep) => new(
        [TemplatePiece.Special(cls), TemplatePiece.A(), TemplatePiece.Special(sep)],
        [TemplatePiece.Special(cls), TemplatePiece.A(), TemplatePiece.Special(sep), TemplatePiece.B(), TemplatePiece.Special(sep, 1)]);

    /// <summary><c>&lt;s&gt; A &lt;/s&gt;</c>, <c>&lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;</c>, every type id 0.</summary>
    public static PostTemplate Roberta(int cls, int sep) => new(
        [TemplatePiece.Special(cls), TemplatePiece.A(), TemplatePiece.Special(sep)],
        [TemplatePiece.Special(cls), TemplatePiece.A(), TemplatePiece.Special(sep), TemplatePiece.Special(sep), TemplatePiece.B(0), TemplatePiece.Special(sep)]);

    /// <summary>tokenizer.json's post_processor as a template: ByteLevel (none), RobertaProcessing, BertProcessing,
    /// TemplateProcessing, or a Sequence of them; and whether it trims offsets.</summary>
    public static (PostTemplate Template, bool TrimOffsets) FromJson(JsonObject? node, string path, Func<string, int> tokenId)
    {
        if (node is null)
            return (None, false);
        bool trim = node["trim_offsets"]?.GetValue<bool>() ?? false;
        int Named(string key) => tokenId(node[key]![0]!.GetValue<string>());
        switch (node["type"]?.GetValue<string>())
        {
            case "ByteLevel":
                return (None, trim);
            case "RobertaProcessing":
                return (Roberta(Named("cls"), Named("sep")), node["trim_offsets"]?.GetValue<bool>() ?? true);
            case "BertProcessing":
                return (Bert(Named("cls"), Named("sep")), false);
            case "TemplateProcessing":
                List<TemplatePiece> Pieces(string key) => (node[key]?.AsArray() ?? []).SelectMany(p =>
                {
                    if (p?["Sequence"] is JsonObject sequence)
                        return [new TemplatePiece(null, sequence["id"]?.GetValue<string>() == "B", sequence["type_id"]?.GetValue<int>() ?? 0)];
                    var special = p?["SpecialToken"] as JsonObject ?? throw new InvalidCheckpointException($"{path}: a template piece is neither Sequence nor SpecialToken.");
                    var name = special["id"]!.GetValue<string>();
                    var ids = node["special_tokens"]?[name]?["ids"]?.AsArray().Select(i => i!.GetValue<int>()).ToArray() ?? [tokenId(name)];
                    return ids.Select(id => TemplatePiece.Special(id, special["type_id"]?.GetValue<int>() ?? 0));
                }).ToList();
                return (new PostTemplate(Pieces("single"), Pieces("pair")), false);
            case "Sequence":
                var parts = (node["processors"]?.AsArray() ?? []).Select(p => FromJson(p as JsonObject, path, tokenId)).ToList();
                var templates = parts.Where(p => p.Template != None).ToList();
                if (templates.Count > 1)
                    throw new InvalidCheckpointException($"{path}: a post-processor Sequence with more than one template is not supported.");
                return (templates.FirstOrDefault().Template ?? None, parts.Any(p => p.TrimOffsets));
            case var other:
                throw new InvalidCheckpointException($"{path}: post_processor '{other}' is not supported (ByteLevel, RobertaProcessing, BertProcessing, TemplateProcessing).");
        }
    }

    public int SpecialCount(bool pair) => (pair ? Pair : Single).Count(p => p.SpecialId is not null);

    /// <summary>The token before sequence A and the one after it, when the template has them: a masked-LM example's frame.</summary>
    public (int? Before, int? After) Frame()
    {
        int a = Single.ToList().FindIndex(p => p.SpecialId is null);
        return (a > 0 ? Single[a - 1].SpecialId : null, a + 1 < Single.Count ? Single[a + 1].SpecialId : null);
    }
}
