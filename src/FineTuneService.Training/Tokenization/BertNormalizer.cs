using System.Globalization;
using System.Text;

namespace FineTuneService.Training.Tokenization;

/// <summary>Hugging Face's BertNormalizer, one code point at a time so that every normalized char keeps the
/// original range it came from: clean text (drop \0, U+FFFD and control/format/private-use chars, whitespace → space),
/// spaces around CJK ideographs, NFD without non-spacing marks (strip accents), full lowercase.
/// Fused with BertPreTokenizer (split on whitespace, isolate punctuation) into one pass over the text.</summary>
internal sealed class BertNormalizer
{
    private const byte Keep = 0, Remove = 1, Whitespace = 2, Punctuation = 3;

    public bool CleanText { get; }
    public bool HandleChineseChars { get; }
    /// <summary>As configured (null: follow <see cref="Lowercase"/>), for writing it back.</summary>
    public bool? StripAccentsSetting { get; }
    public bool Lowercase { get; }
    private readonly bool stripAccents;

    /// <summary>What each ASCII char does, and what it becomes.</summary>
    private readonly byte[] asciiKind = new byte[128];
    private readonly char[] asciiChar = new char[128];
    /// <summary>Normalized form of BMP chars, filled as they are met (a benign race: every writer stores the same string).</summary>
    private readonly string?[] bmpCache = new string?[65536];

    public BertNormalizer(bool cleanText, bool handleChineseChars, bool? stripAccents, bool lowercase)
    {
        CleanText = cleanText;
        HandleChineseChars = handleChineseChars;
        StripAccentsSetting = stripAccents;
        Lowercase = lowercase;
        this.stripAccents = stripAccents ?? lowercase;
        for (int c = 0; c < 128; c++)
        {
            asciiChar[c] = lowercase ? char.ToLowerInvariant((char)c) : (char)c;
            asciiKind[c] = cleanText && (c == 0 || IsControl(c)) ? Remove
                : IsWhitespace(c) ? Whitespace
                : IsPunctuation(c) ? Punctuation
                : Keep;
        }
    }

    /// <summary>True when clean text drops this code point.</summary>
    public bool Removes(int cp) => CleanText && (cp == 0 || cp == 0xFFFD || IsControl(cp));

    /// <summary>The code point after accent stripping and lowercasing (zero or more chars).</summary>
    public string Normalize(Rune rune)
    {
        if (rune.IsBmp)
            return bmpCache[rune.Value] ??= Compute(rune);
        return Compute(rune);
    }

    private string Compute(Rune rune)
    {
        string s = rune.ToString();
        if (stripAccents)
        {
            var decomposed = s.Normalize(NormalizationForm.FormD);
            var kept = new StringBuilder(decomposed.Length);
            foreach (var r in decomposed.EnumerateRunes())
            {
                if (Rune.GetUnicodeCategory(r) != UnicodeCategory.NonSpacingMark)
                    kept.Append(r.ToString());
            }
            s = kept.ToString();
        }
        if (Lowercase)
        {
            var lower = new StringBuilder(s.Length);
            foreach (var r in s.EnumerateRunes())
                lower.Append(ToLowerFull(r));
            s = lower.ToString();
        }
        return s;
    }

    public interface IWordSink
    {
        /// <summary>One pre-tokenized word: <c>word.Chars[..word.Length]</c>, normalized.</summary>
        void OnWord(WordBuffer word);
    }

    /// <summary>Normalizes text[start..end) and hands each pre-tokenized word to <paramref name="sink"/>.</summary>
    public void PreTokenize<TSink>(string text, int start, int end, WordBuffer word, ref TSink sink) where TSink : struct, IWordSink
    {
        word.Length = 0;
        int i = start;
        while (i < end)
        {
            char c = text[i];
            if (c < 128)
            {
                switch (asciiKind[c])
                {
                    case Keep:
                        word.Append(asciiChar[c], i, i + 1);
                        break;
                    case Whitespace:
                        word.Flush(ref sink);
                        break;
                    case Punctuation:
                        word.Flush(ref sink);
                        word.Append(asciiChar[c], i, i + 1);
                        word.Flush(ref sink);
                        break;
                }
                i++;
                continue;
            }

            // A lone surrogate cannot reach a Rust string; it arrives there as U+FFFD.
            if (Rune.DecodeFromUtf16(text.AsSpan(i, end - i), out var rune, out int width) != System.Buffers.OperationStatus.Done)
                (rune, width) = (Rune.ReplacementChar, 1);
            int next = i + width;
            if (Removes(rune.Value))
            {
                i = next;
                continue;
            }
            if (IsWhitespace(rune.Value))
            {
                word.Flush(ref sink);
                i = next;
                continue;
            }
            bool chinese = HandleChineseChars && IsChinese(rune.Value);
            if (chinese)
                word.Flush(ref sink);
            string normalized = Normalize(rune);
            for (int k = 0; k < normalized.Length;)
            {
                Rune.DecodeFromUtf16(normalized.AsSpan(k), out var r, out int w);
                bool punctuation = IsPunctuation(r.Value);
                if (punctuation || IsWhitespace(r.Value))
                    word.Flush(ref sink);
                if (!IsWhitespace(r.Value))
                {
                    for (int q = 0; q < w; q++)
                        word.Append(normalized[k + q], i, next);
                }
                if (punctuation)
                    word.Flush(ref sink);
                k += w;
            }
            if (chinese)
                word.Flush(ref sink);
            i = next;
        }
        word.Flush(ref sink);
    }

    /// <summary>Rust's char::to_lowercase, the full mapping: only U+0130 differs from the simple one.</summary>
    public static string ToLowerFull(Rune rune) => rune.Value == 0x130 ? "i\u0307" : Rune.ToLowerInvariant(rune).ToString();

    /// <summary>Rust's char::is_whitespace (Unicode White_Space).</summary>
    public static bool IsWhitespace(int cp) =>
        cp < 128 ? cp == ' ' || cp is >= 9 and <= 13 : Rune.IsWhiteSpace(new Rune(cp));

    /// <summary>BERT's control test: categories Cc, Cf, Co except \t \n \r.</summary>
    public static bool IsControl(int cp)
    {
        if (cp is '\t' or '\n' or '\r')
            return false;
        var category = Rune.GetUnicodeCategory(new Rune(cp));
        return category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse;
    }

    /// <summary>BertPreTokenizer's punctuation: ASCII 33–47, 58–64, 91–96, 123–126 or a Unicode P* category.</summary>
    public static bool IsPunctuation(int cp)
    {
        if (cp < 128)
            return cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126;
        return Rune.GetUnicodeCategory(new Rune(cp)) is UnicodeCategory.ConnectorPunctuation
            or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>The CJK ideograph blocks that BERT surrounds with spaces.</summary>
    public static bool IsChinese(int cp) => cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF
        or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F or >= 0x2B740 and <= 0x2B81F
        or >= 0x2B920 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}

/// <summary>The normalized chars of the word being read, each with the original range it came from.</summary>
internal sealed class WordBuffer
{
    public char[] Chars = new char[128];
    public int[] Starts = new int[128];
    public int[] Ends = new int[128];
    public int Length;

    public void Append(char c, int start, int end)
    {
        if (Length == Chars.Length)
        {
            Array.Resize(ref Chars, Length * 2);
            Array.Resize(ref Starts, Length * 2);
            Array.Resize(ref Ends, Length * 2);
        }
        Chars[Length] = c;
        Starts[Length] = start;
        Ends[Length] = end;
        Length++;
    }

    public void Flush<TSink>(ref TSink sink) where TSink : struct, BertNormalizer.IWordSink
    {
        if (Length == 0)
            return;
        sink.OnWord(this);
        Length = 0;
    }
}
