using System.Globalization;
using System.Text;

namespace FineTuneService.Training.Tokenization;

/// <summary>GPT-2's byte level: every UTF-8 byte as one printable char (bytes_to_unicode), and the GPT-2 pre-tokenizer
/// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c> as a hand-written scanner.</summary>
static class ByteLevel
{
    /// <summary>Byte → char: printable Latin-1 bytes stand for themselves, the others for 256, 257, … in byte order.</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>Char → byte, -1 for chars that stand for no byte.</summary>
    public static readonly short[] CharToByte = BuildCharToByte();

    /// <summary>The 256 byte chars, sorted: the initial alphabet of a byte-level BPE.</summary>
    public static IEnumerable<string> Alphabet => ByteToChar.Order().Select(c => c.ToString());

    static char[] BuildByteToChar()
    {
        var map = new char[256];
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + extra++);
        }
        return map;
    }

    static short[] BuildCharToByte()
    {
        var map = new short[512];
        Array.Fill(map, (short)-1);
        for (int b = 0; b < 256; b++)
            map[ByteToChar[b]] = (short)b;
        return map;
    }

    /// <summary>The UTF-8 bytes of <paramref name="text"/> as byte chars (lone surrogates become U+FFFD, as in Rust).</summary>
    public static string ToByteChars(ReadOnlySpan<char> text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text.ToString());
        return string.Create(bytes.Length, bytes, (chars, b) =>
        {
            for (int i = 0; i < b.Length; i++)
                chars[i] = ByteToChar[b[i]];
        });
    }

    /// <summary>The bytes that byte chars stand for, as text (invalid UTF-8 becomes U+FFFD, as Hugging Face decodes).</summary>
    public static string FromByteChars(string chars)
    {
        var bytes = new List<byte>(chars.Length);
        foreach (char c in chars)
        {
            if (c < CharToByte.Length && CharToByte[c] >= 0)
                bytes.Add((byte)CharToByte[c]);
        }
        return System.Text.Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>The end of the GPT-2 pre-token that starts at <paramref name="start"/> (end exclusive, within <paramref name="end"/>).</summary>
    public static int NextPreToken(string text, int start, int end)
    {
        char c = text[start];
        if (c == '\'' && start + 1 < end)
        {
            char n = text[start + 1];
            if (n is 's' or 't' or 'm' or 'd')
                return start + 2;
            if (start + 2 < end && (n, text[start + 2]) is ('r', 'e') or ('v', 'e') or ('l', 'l'))
                return start + 3;
        }
        int body = c == ' ' && start + 1 < end ? start + 1 : start;
        var kind = Kind(text, body, end, out int width);
        if (kind != CharKind.Space)
        {
            int at = body + width;
            while (at < end && Kind(text, at, end, out int w) == kind)
                at += w;
            return at;
        }
        // \s+(?!\S) keeps the last space for the next token when non-space follows; \s+ otherwise.
        int run = start;
        int last = start;
        while (run < end && Kind(text, run, end, out int w) == CharKind.Space)
        {
            last = run;
            run += w;
        }
        return run == end || last == start ? run : last;
    }

    enum CharKind { Letter, Number, Other, Space }

    static CharKind Kind(string text, int at, int end, out int width)
    {
        char c = text[at];
        width = 1;
        if (c < 128)
        {
            return c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' ? CharKind.Letter
                : c is >= '0' and <= '9' ? CharKind.Number
                : c == ' ' || c is >= '\t' and <= '\r' ? CharKind.Space
                : CharKind.Other;
        }
        if (Rune.DecodeFromUtf16(text.AsSpan(at, end - at), out var rune, out width) != System.Buffers.OperationStatus.Done)
            (rune, width) = (Rune.ReplacementChar, 1);
        if (BertNormalizer.IsWhitespace(rune.Value))
            return CharKind.Space;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharKind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharKind.Number,
            _ => CharKind.Other,
        };
    }
}
