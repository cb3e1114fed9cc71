using System.Globalization;
using System.Text;

namespace FineTuneService.Training.Tokenization;

/// <summary>Hugging Face's BertNormalizer, one code point at a time so that every normalized char keeps the
/// original range it came from: clean text (drop \0, U+FFFD and control/format/private-use chars, whitespace → space),
/// spaces around CJK ideographs, NFD without non-spacing marks (strip accents), full lowercase.
/// Fused with BertPreTokenizer (split on whitespace, isolate punctuation) into one pass over the text.</summary>
sealed class BertNormalizer
{
    const byte Keep = 0, Remove = 1, Whitespace = 2, Punctuation = 3;

    public bool CleanText { get; }
    public bool HandleChineseChars { get; }
    /// <summary>As configured (null: follow <see cref="Lowercase"/>), for writing it back.</summary>
    public bool? StripAccentsSetting { get; }
    public bool Lowercase { get; }
    readonly bool stripAccents;

    /// <summary>What each ASCII char does, and what it becomes.</summary>
    readonly byte[] asciiKind = new byte[128];
    readonly char[] asciiChar = new char[128];
    /// <summary>Normalized form of BMP chars, filled as they are met (a benign race: every writer stores the same string).</summary>
    readonly string?[] bmpCache = new string?[65536];

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

    string Compute(Rune rune)
    {
        string s = rune.ToString();
        // Unassigned code points decompose to themselves (and .NET refuses to normalize noncharacters like U+FFFF).
        if (stripAccents && Rune.GetUnicodeCategory(rune) != UnicodeCategory.OtherNotAssigned)
        {
            var decomposed = s.Normalize(NormalizationForm.FormD);
            var kept = new StringBuilder(decomposed.Length);
            foreach (var r in decomposed.EnumerateRunes())
            {
                if (Category(r.Value) != UnicodeCategory.NonSpacingMark)
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

    /// <summary>Rust's char::to_lowercase: the full mapping (only U+0130 differs from the simple one), with the case
    /// pairs of Unicode 16 that .NET's tables lack.</summary>
    public static string ToLowerFull(Rune rune) => rune.Value switch
    {
        0x130 => "i\u0307",
        0x1C89 => "\u1C8A",
        0xA7CB => "\u0264",
        0xA7DC => "\u019B",
        0xA7CC or 0xA7CE or 0xA7D2 or 0xA7D4 or 0xA7DA => ((char)(rune.Value + 1)).ToString(),
        >= 0x10D50 and <= 0x10D65 => char.ConvertFromUtf32(rune.Value + 0x20),
        >= 0x16EA0 and <= 0x16EB8 => char.ConvertFromUtf32(rune.Value + 0x1B),
        _ => Rune.ToLowerInvariant(rune).ToString(),
    };

    /// <summary>Rust's char::is_whitespace (Unicode White_Space).</summary>
    public static bool IsWhitespace(int cp) =>
        cp < 128 ? cp == ' ' || cp is >= 9 and <= 13 : Rune.IsWhiteSpace(new Rune(cp));

    /// <summary>BERT's control test: categories Cc, Cf, Co except \t \n \r.</summary>
    public static bool IsControl(int cp)
    {
        if (cp is '\t' or '\n' or '\r')
            return false;
        return Category(cp) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse;
    }

    /// <summary>BertPreTokenizer's punctuation: ASCII 33–47, 58–64, 91–96, 123–126 or a Unicode P* category.</summary>
    public static bool IsPunctuation(int cp)
    {
        if (cp < 128)
            return cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126;
        return Category(cp) is UnicodeCategory.ConnectorPunctuation
            or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>The general category as Hugging Face `tokenizers` sees it: its BERT normalizer and pre-tokenizer read the
    /// tables of the unicode_categories crate, which predate Unicode 9. Where .NET's newer data disagrees, <see cref="Legacy"/>
    /// says what those tables hold; a test compares every code point with Hugging Face's library.</summary>
    static UnicodeCategory Category(int cp)
    {
        if (cp >= Legacy[0].First)
        {
            int lo = 0, hi = Legacy.Length - 1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >> 1;
                var (first, last, category) = Legacy[mid];
                if (cp < first)
                    hi = mid - 1;
                else if (cp > last)
                    lo = mid + 1;
                else
                    return category;
            }
        }
        return Rune.GetUnicodeCategory(new Rune(cp));
    }

    const UnicodeCategory U = UnicodeCategory.OtherNotAssigned, P = UnicodeCategory.OtherPunctuation,
        M = UnicodeCategory.NonSpacingMark;

    /// <summary>Code points whose category in Hugging Face's tables differs from .NET's, sorted: U not yet assigned there
    /// (so neither punctuation, control nor mark), P punctuation, M a non-spacing mark.</summary>
    static readonly (int First, int Last, UnicodeCategory Category)[] Legacy =
    [
        (0x61D, 0x61D, U), (0x7FD, 0x7FD, U), (0x890, 0x891, U), (0x897, 0x89F, U), (0x8CA, 0x8E2, U),
        (0x9FD, 0x9FE, U), (0xA76, 0xA76, U), (0xAFA, 0xAFF, U), (0xB55, 0xB55, U), (0xC04, 0xC04, U),
        (0xC3C, 0xC3C, U), (0xC77, 0xC77, U), (0xC84, 0xC84, U), (0xD00, 0xD00, U), (0xD3B, 0xD3C, U),
        (0xD81, 0xD81, U), (0xEBA, 0xEBA, U), (0xECE, 0xECE, U), (0x166D, 0x166D, P), (0x1734, 0x1734, M),
        (0x180F, 0x180F, U), (0x1885, 0x1886, U), (0x1ABF, 0x1ACE, U), (0x1B4E, 0x1B4F, U), (0x1B7D, 0x1B7F, U),
        (0x1DF6, 0x1DFB, U), (0x2E43, 0x2E4F, U), (0x2E52, 0x2E5D, U), (0xA82C, 0xA82C, U), (0xA8C5, 0xA8C5, U),
        (0xA8FF, 0xA8FF, U), (0xA9BD, 0xA9BD, U), (0x10D24, 0x10D27, U), (0x10D69, 0x10D6E, U), (0x10EAB, 0x10EAD, U),
        (0x10EFC, 0x10EFF, U), (0x10F46, 0x10F50, U), (0x10F55, 0x10F59, U), (0x10F82, 0x10F89, U),
        (0x11070, 0x11070, U), (0x11073, 0x11074, U), (0x110C2, 0x110C2, U), (0x110CD, 0x110CD, U),
        (0x111C9, 0x111C9, P), (0x111CF, 0x111CF, U), (0x1123E, 0x1123E, U), (0x11241, 0x11241, U),
        (0x1133B, 0x1133B, U), (0x113BB, 0x113C0, U), (0x113CE, 0x113CE, U), (0x113D0, 0x113D0, U),
        (0x113D2, 0x113D2, U), (0x113D4, 0x113D5, U), (0x113D7, 0x113D8, U), (0x113E1, 0x113E2, U),
        (0x11438, 0x1143F, U), (0x11442, 0x11444, U), (0x11446, 0x11446, U), (0x1144B, 0x1144F, U),
        (0x1145A, 0x1145B, U), (0x1145D, 0x1145E, U), (0x11660, 0x1166C, U), (0x116B9, 0x116B9, U),
        (0x1171E, 0x1171E, M), (0x1182F, 0x11837, U), (0x11839, 0x1183B, U), (0x1193B, 0x1193C, U),
        (0x1193E, 0x1193E, U), (0x11943, 0x11946, U), (0x119D4, 0x119D7, U), (0x119DA, 0x119DB, U),
        (0x119E0, 0x119E0, U), (0x119E2, 0x119E2, U), (0x11A01, 0x11A0A, U), (0x11A33, 0x11A38, U),
        (0x11A3B, 0x11A47, U), (0x11A51, 0x11A56, U), (0x11A59, 0x11A5B, U), (0x11A8A, 0x11A96, U),
        (0x11A98, 0x11A9C, U), (0x11A9E, 0x11AA2, U), (0x11B00, 0x11B09, U), (0x11BE1, 0x11BE1, U),
        (0x11C30, 0x11C36, U), (0x11C38, 0x11C3D, U), (0x11C3F, 0x11C3F, U), (0x11C41, 0x11C45, U),
        (0x11C70, 0x11C71, U), (0x11C92, 0x11CA7, U), (0x11CAA, 0x11CB0, U), (0x11CB2, 0x11CB3, U),
        (0x11CB5, 0x11CB6, U), (0x11D31, 0x11D36, U), (0x11D3A, 0x11D3A, U), (0x11D3C, 0x11D3D, U),
        (0x11D3F, 0x11D45, U), (0x11D47, 0x11D47, U), (0x11D90, 0x11D91, U), (0x11D95, 0x11D95, U),
        (0x11D97, 0x11D97, U), (0x11EF3, 0x11EF4, U), (0x11EF7, 0x11EF8, U), (0x11F00, 0x11F01, U),
        (0x11F36, 0x11F3A, U), (0x11F40, 0x11F40, U), (0x11F42, 0x11F4F, U), (0x11F5A, 0x11F5A, U),
        (0x11FFF, 0x11FFF, U), (0x12FF1, 0x12FF2, U), (0x13430, 0x13440, U), (0x13447, 0x13455, U),
        (0x1611E, 0x16129, U), (0x1612D, 0x1612F, U), (0x16D6D, 0x16D6F, U), (0x16E97, 0x16E9A, U),
        (0x16F4F, 0x16F4F, U), (0x16FE2, 0x16FE2, U), (0x16FE4, 0x16FE4, U), (0x1CF00, 0x1CF2D, U),
        (0x1CF30, 0x1CF46, U), (0x1E000, 0x1E006, U), (0x1E008, 0x1E018, U), (0x1E01B, 0x1E021, U),
        (0x1E023, 0x1E024, U), (0x1E026, 0x1E02A, U), (0x1E08F, 0x1E08F, U), (0x1E130, 0x1E136, U),
        (0x1E2AE, 0x1E2AE, U), (0x1E2EC, 0x1E2EF, U), (0x1E4EC, 0x1E4EF, U), (0x1E5EE, 0x1E5EF, U),
        (0x1E5FF, 0x1E5FF, U), (0x1E944, 0x1E94A, U), (0x1E95E, 0x1E95F, U),
    ];

    /// <summary>The CJK ideograph blocks that BERT surrounds with spaces.</summary>
    public static bool IsChinese(int cp) => cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF
        or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F or >= 0x2B740 and <= 0x2B81F
        or >= 0x2B920 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}

/// <summary>The normalized chars of the word being read, each with the original range it came from.</summary>
sealed class WordBuffer
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
