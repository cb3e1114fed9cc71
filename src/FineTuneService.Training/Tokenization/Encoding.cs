namespace FineTuneService.Training.Tokenization;

/// <summary>One encoded input. Offsets are UTF-16 (C# string) index ranges into the original text (into the
/// pair's text for tokens of the second sequence); special tokens added by the template get (0, 0) and a null word id.
/// Word ids count the pre-tokenized words of each sequence from 0.</summary>
public sealed record Encoding(int[] Ids, int[] TypeIds, string[] Tokens, (int Start, int End)[] Offsets, int?[] WordIds)
{
    public int Length => Ids.Length;
}
