using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FineTuneService.Training.Checkpoints;

namespace FineTuneService.Training.Tokenization;

/// <summary>A tokenizer.json regex (Oniguruma, as the Rust crate runs it) on .NET: .NET matches UTF-16 chars, so
/// <c>\p{L}</c> would not match an astral letter's surrogates; the regex runs instead on a stand-in text where each
/// astral code point is one BMP char of the same general category, and matches map back to the real text.</summary>
static class CodePointRegex
{
    public static Regex Compile(string pattern, string path)
    {
        try { return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(10)); }
        catch (ArgumentException e) { throw new InvalidCheckpointException($"{path}: the regex '{pattern}' is not supported: {e.Message}"); }
    }

    /// <summary>The matches of <paramref name="regex"/> in <paramref name="text"/>, left to right, as UTF-16 ranges.</summary>
    public static List<(int Start, int End)> Matches(Regex regex, string text)
    {
        var found = new List<(int, int)>();
        if (!text.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF'))
        {
            for (var m = regex.Match(text); m.Success; m = m.NextMatch())
                found.Add((m.Index, m.Index + m.Length));
            return found;
        }
        var standIn = new StringBuilder(text.Length);
        var index = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length;)
        {
            index.Add(i);
            var rune = Rune.GetRuneAt(text, i);
            if (rune.IsBmp)
                standIn.Append((char)rune.Value);
            else
                standIn.Append(StandIn(Rune.GetUnicodeCategory(rune)));
            i += rune.Utf16SequenceLength;
        }
        index.Add(text.Length);
        for (var m = regex.Match(standIn.ToString()); m.Success; m = m.NextMatch())
            found.Add((index[m.Index], index[m.Index + m.Length]));
        return found;
    }

    /// <summary>A BMP char of the category, none of them whitespace or ASCII (which patterns name literally).</summary>
    static char StandIn(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => '\u0186',
        UnicodeCategory.LowercaseLetter => '\u0254',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u01BB',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '\u0660',
        UnicodeCategory.LetterNumber => '\u2160',
        UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.ConnectorPunctuation => '\u203F',
        UnicodeCategory.DashPunctuation => '\u2010',
        UnicodeCategory.OpenPunctuation => '\u2045',
        UnicodeCategory.ClosePunctuation => '\u2046',
        UnicodeCategory.InitialQuotePunctuation => '\u2039',
        UnicodeCategory.FinalQuotePunctuation => '\u203A',
        UnicodeCategory.OtherPunctuation => '\u00B6',
        UnicodeCategory.MathSymbol => '\u2200',
        UnicodeCategory.CurrencySymbol => '\u20AC',
        UnicodeCategory.ModifierSymbol => '\u02C2',
        UnicodeCategory.OtherSymbol => '\u00A9',
        UnicodeCategory.Format => '\u00AD',
        UnicodeCategory.PrivateUse => '\uE000',
        _ => '\u0378',
    };
}

/// <summary>How a split keeps its delimiters (Hugging Face's SplitDelimiterBehavior).</summary>
enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

/// <summary>One pre-tokenizer step of a <c>Sequence</c>: turns each piece into smaller ones (ranges of the same text).</summary>
abstract class PreTokenizerStep
{
    public abstract void Split(string text, int start, int end, List<(int Start, int End)> output);

    /// <summary>Runs <paramref name="steps"/> in order over text[start..end); empty pieces are dropped, as Hugging Face does.</summary>
    public static List<(int Start, int End)> Run(IReadOnlyList<PreTokenizerStep> steps, string text, int start, int end)
    {
        var pieces = new List<(int, int)> { (start, end) };
        foreach (var step in steps)
        {
            var next = new List<(int, int)>(pieces.Count * 2);
            foreach (var (s, e) in pieces)
                step.Split(text, s, e, next);
            pieces = next;
        }
        return pieces;
    }

    /// <summary>Hugging Face's NormalizedString::split: the pieces between and of the delimiter matches, per behavior.</summary>
    public static void ApplyBehavior(List<(int Start, int End)> matches, int start, int end, SplitBehavior behavior, bool invert,
        List<(int Start, int End)> output)
    {
        if (start == end)
            return;
        var parts = new List<(int Start, int End, bool Match)>(matches.Count * 2 + 1);
        int previous = start;
        foreach (var (s, e) in matches)
        {
            if (previous != s)
                parts.Add((previous, s, invert));
            parts.Add((s, e, !invert));
            previous = e;
        }
        if (previous != end)
            parts.Add((previous, end, invert));

        var kept = new List<(int Start, int End)>(parts.Count);
        switch (behavior)
        {
            case SplitBehavior.Isolated:
                kept.AddRange(parts.Select(p => (p.Start, p.End)));
                break;
            case SplitBehavior.Removed:
                kept.AddRange(parts.Where(p => !p.Match).Select(p => (p.Start, p.End)));
                break;
            case SplitBehavior.Contiguous:
            case SplitBehavior.MergedWithPrevious:
                {
                    bool previousMatch = false;
                    foreach (var (s, e, match) in parts)
                    {
                        bool merge = behavior == SplitBehavior.Contiguous ? match == previousMatch : match && !previousMatch;
                        if (merge && kept.Count > 0)
                            kept[^1] = (kept[^1].Start, e);
                        else
                            kept.Add((s, e));
                        previousMatch = match;
                    }
                    break;
                }
            case SplitBehavior.MergedWithNext:
                {
                    bool nextMatch = false;
                    for (int i = parts.Count - 1; i >= 0; i--)
                    {
                        var (s, e, match) = parts[i];
                        if (match && !nextMatch && kept.Count > 0)
                            kept[^1] = (s, kept[^1].End);
                        else
                            kept.Add((s, e));
                        nextMatch = match;
                    }
                    kept.Reverse();
                    break;
                }
        }
        output.AddRange(kept.Where(p => p.End > p.Start));
    }

    public static SplitBehavior ParseBehavior(string? behavior, string path) => behavior switch
    {
        "Removed" => SplitBehavior.Removed,
        "Isolated" => SplitBehavior.Isolated,
        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
        "MergedWithNext" => SplitBehavior.MergedWithNext,
        "Contiguous" => SplitBehavior.Contiguous,
        _ => throw new InvalidCheckpointException($"{path}: split behavior '{behavior}' is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous."),
    };
}

/// <summary>The Split pre-tokenizer: a string or regex pattern, a behavior, and invert.</summary>
sealed class SplitStep(Regex pattern, SplitBehavior behavior, bool invert) : PreTokenizerStep
{
    public static SplitStep FromJson(JsonObject obj, string path)
    {
        var pattern = obj["pattern"] as JsonObject ?? throw new InvalidCheckpointException($"{path}: a Split pre-tokenizer has no pattern.");
        var regex = pattern["String"]?.GetValue<string>() is { } literal
            ? new Regex(Regex.Escape(literal), RegexOptions.CultureInvariant)
            : CodePointRegex.Compile(pattern["Regex"]?.GetValue<string>()
                ?? throw new InvalidCheckpointException($"{path}: a Split pattern must be a String or a Regex."), path);
        return new SplitStep(regex, ParseBehavior(obj["behavior"]?.GetValue<string>(), path), obj["invert"]?.GetValue<bool>() ?? false);
    }

    public override void Split(string text, int start, int end, List<(int Start, int End)> output)
    {
        var matches = CodePointRegex.Matches(pattern, text[start..end]);
        for (int i = 0; i < matches.Count; i++)
            matches[i] = (matches[i].Start + start, matches[i].End + start);
        ApplyBehavior(matches, start, end, behavior, invert, output);
    }
}

/// <summary>The GPT-2 regex of the ByteLevel pre-tokenizer (use_regex true), as a step.</summary>
sealed class ByteLevelRegexStep : PreTokenizerStep
{
    public override void Split(string text, int start, int end, List<(int Start, int End)> output)
    {
        while (start < end)
        {
            int next = ByteLevel.NextPreToken(text, start, end);
            output.Add((start, next));
            start = next;
        }
    }
}

/// <summary>When Metaspace puts its replacement before a piece (Hugging Face's PrependScheme).</summary>
enum PrependScheme
{
    Always,
    First,
    Never,
}

/// <summary>The Metaspace pre-tokenizer and decoder (SentencePiece): spaces become <c>▁</c>, a <c>▁</c> goes before
/// each piece (or the first one only, or none), and with split the text breaks before each <c>▁</c>.</summary>
sealed record Metaspace(char Replacement, PrependScheme Prepend, bool Split)
{
    public static Metaspace FromJson(JsonObject obj, string path)
    {
        string replacement = obj["replacement"]?.GetValue<string>() ?? "\u2581";
        if (replacement.Length != 1)
            throw new InvalidCheckpointException($"{path}: Metaspace's replacement must be one char, not '{replacement}'.");
        var scheme = obj["prepend_scheme"]?.GetValue<string>() switch
        {
            null or "always" => PrependScheme.Always,
            "first" => PrependScheme.First,
            "never" => PrependScheme.Never,
            var other => throw new InvalidCheckpointException($"{path}: Metaspace's prepend_scheme '{other}' is not always, first or never."),
        };
        if (obj["add_prefix_space"]?.GetValue<bool>() == false)
            scheme = PrependScheme.Never;
        return new Metaspace(replacement[0], scheme, obj["split"]?.GetValue<bool>() ?? true);
    }

    /// <summary>The piece with spaces replaced and the replacement prepended; <paramref name="first"/> says whether the
    /// piece starts the original text. The prepended char stands for the piece's first char.</summary>
    public NormalizedText Apply(NormalizedText piece, bool first)
    {
        bool prepend = Prepend == PrependScheme.Always || (Prepend == PrependScheme.First && first);
        string text = piece.Text.Replace(' ', Replacement);
        if (!prepend || text.Length == 0 || text.StartsWith(Replacement))
            return new NormalizedText(text, piece.Origin);
        var origin = new (int, int)[piece.Length + 1];
        origin[0] = piece.Origin[0];
        piece.Origin.CopyTo(origin, 1);
        return new NormalizedText(Replacement + text, origin);
    }

    /// <summary>The words of a piece that <see cref="Apply"/> made: with split, a word starts at each replacement char
    /// (Hugging Face's split on it with MergedWithNext comes to this).</summary>
    public List<(int Start, int End)> Words(string text)
    {
        var words = new List<(int, int)>();
        int start = 0;
        for (int i = Split && text.Length > 1 ? text.IndexOf(Replacement, 1) : -1; i > 0; i = text.IndexOf(Replacement, i + 1))
        {
            words.Add((start, i));
            start = i;
        }
        if (start < text.Length)
            words.Add((start, text.Length));
        return words;
    }

    /// <summary>The decoder: replacement chars become spaces, except in the first token unless the scheme is never.</summary>
    public string Decode(IEnumerable<string> tokens)
    {
        var text = new StringBuilder();
        bool firstToken = true;
        foreach (var token in tokens)
        {
            foreach (char c in token)
            {
                if (c != Replacement)
                    text.Append(c);
                else if (!firstToken || Prepend == PrependScheme.Never)
                    text.Append(' ');
            }
            firstToken = false;
        }
        return text.ToString();
    }
}
