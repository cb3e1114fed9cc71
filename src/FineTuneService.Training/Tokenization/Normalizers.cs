using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FineTuneService.Training.Checkpoints;

namespace FineTuneService.Training.Tokenization;

/// <summary>Text on its way through normalizers (Hugging Face's NormalizedString): its chars and, for each UTF-16 char,
/// the range of the original text it came from.</summary>
sealed class NormalizedText
{
    public NormalizedText(string text, (int Start, int End)[] origin)
    {
        Text = text;
        Origin = origin;
    }

    public string Text { get; }

    public (int Start, int End)[] Origin { get; }

    public int Length => Text.Length;

    /// <summary>text[start..end) as it is, each char its own origin; lone surrogates become U+FFFD, as in a Rust string.</summary>
    public static NormalizedText Of(string text, int start, int end)
    {
        var origin = new (int, int)[end - start];
        for (int i = 0; i < origin.Length; i++)
            origin[i] = (start + i, start + i + 1);
        var slice = text.AsSpan(start, end - start);
        return new NormalizedText(slice.ContainsAnyInRange('\uD800', '\uDFFF') ? ReplaceLoneSurrogates(slice) : slice.ToString(), origin);
    }

    static string ReplaceLoneSurrogates(ReadOnlySpan<char> text)
    {
        var chars = text.ToArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
                i++;
            else if (char.IsSurrogate(chars[i]))
                chars[i] = '\uFFFD';
        }
        return new string(chars);
    }

    /// <summary>The original range that normalized chars [start, end) came from; an empty range sits where it would start.</summary>
    public (int Start, int End) OriginalRange(int start, int end) =>
        start < end ? (Origin[start].Start, Origin[end - 1].End)
        : start < Length ? (Origin[start].Start, Origin[start].Start)
        : Length > 0 ? (Origin[^1].End, Origin[^1].End) : (0, 0);

    public NormalizedText Slice(int start, int end) => new(Text[start..end], Origin[start..end]);

    /// <summary>The width of the code point at <paramref name="at"/>: 2 for a surrogate pair, else 1.</summary>
    public static int CharWidth(ReadOnlySpan<char> text, int at) =>
        char.IsHighSurrogate(text[at]) && at + 1 < text.Length && char.IsLowSurrogate(text[at + 1]) ? 2 : 1;
}

/// <summary>Builds a <see cref="NormalizedText"/> piece by piece, each piece with the original range it stands for.</summary>
sealed class NormalizedBuilder(int capacity)
{
    readonly StringBuilder text = new(capacity);
    readonly List<(int Start, int End)> origin = new(capacity);

    public void Append(ReadOnlySpan<char> chars, (int Start, int End) from)
    {
        text.Append(chars);
        for (int i = 0; i < chars.Length; i++)
            origin.Add(from);
    }

    /// <summary>Copies source chars [start, end) with their own origins.</summary>
    public void Copy(NormalizedText source, int start, int end)
    {
        text.Append(source.Text.AsSpan(start, end - start));
        origin.AddRange(source.Origin.AsSpan(start, end - start));
    }

    public NormalizedText Build() => new(text.ToString(), origin.ToArray());
}

/// <summary>A Hugging Face `tokenizers` normalizer from tokenizer.json: <c>Sequence</c>, <c>Precompiled</c> (SentencePiece's
/// charsmap), <c>NFC</c>, <c>NFKC</c>, <c>Replace</c>, <c>Strip</c>, <c>Lowercase</c>.</summary>
abstract class TextNormalizer
{
    public abstract NormalizedText Normalize(NormalizedText input);

    /// <summary>The normalizer a tokenizer.json node describes; null for none. <paramref name="path"/> names the file in errors.</summary>
    public static TextNormalizer? FromJson(JsonNode? node, string path)
    {
        if (node is not JsonObject obj)
            return null;
        string type = obj["type"]?.GetValue<string>() ?? "";
        return type switch
        {
            "Sequence" => new SequenceNormalizer((obj["normalizers"]?.AsArray() ?? [])
                .Select(n => FromJson(n, path)).OfType<TextNormalizer>().ToArray()),
            "Precompiled" => PrecompiledNormalizer.FromBase64(obj["precompiled_charsmap"]?.GetValue<string>(), path),
            "NFC" => new UnicodeFormNormalizer(NormalizationForm.FormC),
            "NFKC" => new UnicodeFormNormalizer(NormalizationForm.FormKC),
            "Replace" => ReplaceNormalizer.FromJson(obj, path),
            "Strip" => new StripNormalizer(obj["strip_left"]?.GetValue<bool>() ?? true, obj["strip_right"]?.GetValue<bool>() ?? true),
            "Lowercase" => new LowercaseNormalizer(),
            _ => throw new InvalidCheckpointException(
                $"{path}: normalizer '{type}' is not supported (Sequence, Precompiled, NFC, NFKC, Replace, Strip or Lowercase are)."),
        };
    }

    /// <summary>Calls <paramref name="step"/> on each code point of the text, with its index and width.</summary>
    protected static void ForEachRune(string text, Action<Rune, int, int> step)
    {
        for (int i = 0; i < text.Length;)
        {
            int width = NormalizedText.CharWidth(text, i);
            step(Rune.GetRuneAt(text, i), i, width);
            i += width;
        }
    }
}

sealed class SequenceNormalizer(TextNormalizer[] steps) : TextNormalizer
{
    public override NormalizedText Normalize(NormalizedText input)
    {
        foreach (var step in steps)
            input = step.Normalize(input);
        return input;
    }
}

/// <summary>Lowercase: Rust's full lowercase mapping, one code point at a time.</summary>
sealed class LowercaseNormalizer : TextNormalizer
{
    public override NormalizedText Normalize(NormalizedText input)
    {
        var output = new NormalizedBuilder(input.Length);
        ForEachRune(input.Text, (rune, at, width) =>
            output.Append(BertNormalizer.ToLowerFull(rune), input.OriginalRange(at, at + width)));
        return output.Build();
    }
}

/// <summary>Strip: removes whitespace (Rust's char::is_whitespace) from the left and/or right end.</summary>
sealed class StripNormalizer(bool left, bool right) : TextNormalizer
{
    public override NormalizedText Normalize(NormalizedText input)
    {
        var text = input.Text;
        int start = 0, end = text.Length;
        while (left && start < end && BertNormalizer.IsWhitespace(Rune.GetRuneAt(text, start).Value))
            start += NormalizedText.CharWidth(text, start);
        while (right && end > start && !char.IsLowSurrogate(text[end - 1]) && BertNormalizer.IsWhitespace(text[end - 1]))
            end--;
        return start == 0 && end == text.Length ? input : input.Slice(start, end);
    }
}

/// <summary>NFC / NFKC of the whole text, as Hugging Face does. Each grapheme is normalized on its own to find where its
/// chars came from; where that differs from normalizing the whole text (never in practice), the whole range is the origin.</summary>
sealed class UnicodeFormNormalizer(NormalizationForm form) : TextNormalizer
{
    public override NormalizedText Normalize(NormalizedText input)
    {
        string text = input.Text;
        string whole = Normalize(text);
        if (whole == text)
            return input;
        var output = new NormalizedBuilder(whole.Length);
        for (int at = 0; at < text.Length;)
        {
            int length = StringInfo.GetNextTextElementLength(text.AsSpan(at));
            output.Append(Normalize(text.Substring(at, length)), input.OriginalRange(at, at + length));
            at += length;
        }
        var aligned = output.Build();
        if (aligned.Text == whole)
            return aligned;
        var coarse = new NormalizedBuilder(whole.Length);
        coarse.Append(whole, input.OriginalRange(0, text.Length));
        return coarse.Build();
    }

    /// <summary>.NET refuses to normalize text with unassigned code points (noncharacters among them); they have no
    /// decomposition and compose with nothing, so the runs between them are normalized and they stay as they are. So do
    /// the code points that Hugging Face's tables (Unicode 11) leave alone.</summary>
    string Normalize(string text)
    {
        if (Ascii.IsValid(text))
            return text;
        bool compatibility = form == NormalizationForm.FormKC;
        var result = new StringBuilder(text.Length);
        int runStart = 0;
        for (int i = 0; i < text.Length;)
        {
            var rune = Rune.GetRuneAt(text, i);
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.OtherNotAssigned || (compatibility && IsNewCompatibility(rune.Value)))
            {
                result.Append(text.AsSpan(runStart, i - runStart).ToString().Normalize(form)).Append(rune.ToString());
                runStart = i + rune.Utf16SequenceLength;
            }
            i += rune.Utf16SequenceLength;
        }
        return result.Append(text[runStart..].Normalize(form)).ToString();
    }

    /// <summary>Code points whose compatibility decomposition came after Unicode 11 (in 12.0–15.0: U+1F16C, segmented
    /// digits, Latin and Cyrillic modifier letters, …): Hugging Face's NFKC keeps them; a test compares every code point.</summary>
    static bool IsNewCompatibility(int cp) => cp is 0x32FF or >= 0xA7F2 and <= 0xA7F4 or 0xAB69
        or >= 0x10781 and <= 0x10785 or >= 0x10787 and <= 0x107B0 or >= 0x107B2 and <= 0x107BA
        or >= 0x1E030 and <= 0x1E06D or 0x1F16C or >= 0x1FBF0 and <= 0x1FBF9;
}

/// <summary>Replace: every match of a string or regex pattern, left to right, becomes <c>content</c>.</summary>
sealed class ReplaceNormalizer(Regex pattern, string content) : TextNormalizer
{
    public static ReplaceNormalizer FromJson(JsonObject obj, string path)
    {
        var pattern = obj["pattern"] as JsonObject ?? throw new InvalidCheckpointException($"{path}: a Replace normalizer has no pattern.");
        string content = obj["content"]?.GetValue<string>() ?? "";
        if (pattern["String"]?.GetValue<string>() is { } literal)
            return new ReplaceNormalizer(new Regex(Regex.Escape(literal), RegexOptions.CultureInvariant), content);
        if (pattern["Regex"]?.GetValue<string>() is { } regex)
            return new ReplaceNormalizer(CodePointRegex.Compile(regex, path), content);
        throw new InvalidCheckpointException($"{path}: a Replace normalizer's pattern must be a String or a Regex.");
    }

    public override NormalizedText Normalize(NormalizedText input)
    {
        var matches = CodePointRegex.Matches(pattern, input.Text);
        if (matches.Count == 0)
            return input;
        var output = new NormalizedBuilder(input.Length);
        int at = 0;
        foreach (var (start, end) in matches)
        {
            output.Copy(input, at, start);
            // As in the Rust crate, the new chars stand where the match's last char stood.
            output.Append(content, end > 0 ? input.Origin[end - 1] : (0, 0));
            at = end;
        }
        output.Copy(input, at, input.Length);
        return output.Build();
    }
}

/// <summary>SentencePiece's precompiled charsmap, read as the Rust crate <c>spm_precompiled</c> reads it: a little-endian
/// u32 trie size in bytes, the double-array trie (Darts) of u32 units over UTF-8 bytes, then the replacement strings,
/// each ended by NUL. As Hugging Face applies it: each grapheme shorter than 6 UTF-8 bytes is looked up whole (the shortest
/// key that is a prefix of it replaces all of it); otherwise, or when it has no entry, each code point is looked up.</summary>
sealed class PrecompiledNormalizer : TextNormalizer
{
    const int MaxGraphemeBytes = 6;
    readonly uint[] units;
    readonly byte[] strings;
    readonly ConcurrentDictionary<int, string> replacements = new();
    /// <summary>What each ASCII char becomes (null: itself), looked up once.</summary>
    readonly string?[] asciiReplacements = new string?[128];

    public PrecompiledNormalizer(byte[] charsmap)
    {
        if (charsmap.Length < 4)
            throw new InvalidCheckpointException("The precompiled charsmap is shorter than its header.");
        uint trieBytes = BinaryPrimitives.ReadUInt32LittleEndian(charsmap);
        long unitCount = trieBytes / 4;
        if (4 + unitCount * 4 > charsmap.Length || unitCount == 0)
            throw new InvalidCheckpointException("The precompiled charsmap's trie is longer than the charsmap.");
        units = new uint[unitCount];
        for (int i = 0; i < units.Length; i++)
            units[i] = BinaryPrimitives.ReadUInt32LittleEndian(charsmap.AsSpan(4 + i * 4));
        strings = charsmap[(int)(4 + unitCount * 4)..];
        try { _ = new UTF8Encoding(false, true).GetString(strings); }
        catch (DecoderFallbackException) { throw new InvalidCheckpointException("The precompiled charsmap's strings are not UTF-8."); }
        for (int c = 0; c < asciiReplacements.Length; c++)
            asciiReplacements[c] = Transform([(char)c]);
    }

    public static PrecompiledNormalizer FromBase64(string? base64, string path)
    {
        try { return new PrecompiledNormalizer(Convert.FromBase64String(base64 ?? "")); }
        catch (Exception e) when (e is FormatException or InvalidCheckpointException)
        {
            throw new InvalidCheckpointException($"{path}: the Precompiled normalizer's precompiled_charsmap is not usable: {e.Message}");
        }
    }

    static bool HasLeaf(uint unit) => ((unit >> 8) & 1) == 1;
    static int Value(uint unit) => (int)(unit & ((1u << 31) - 1));
    static uint Label(uint unit) => unit & ((1u << 31) | 0xFF);
    static int Offset(uint unit) => (int)((unit >> 10) << (int)((unit & (1u << 9)) >> 6));

    /// <summary>The replacement of the shortest key that <paramref name="key"/> starts with, or null (Darts' common prefix search).</summary>
    string? Transform(ReadOnlySpan<char> chunk)
    {
        Span<byte> key = stackalloc byte[System.Text.Encoding.UTF8.GetMaxByteCount(chunk.Length)];
        key = key[..System.Text.Encoding.UTF8.GetBytes(chunk, key)];
        int node = Offset(units[0]);
        foreach (byte c in key)
        {
            if (c == 0)
                break;
            node ^= c;
            if ((uint)node >= (uint)units.Length)
                return null;
            uint unit = units[node];
            if (Label(unit) != c)
                return null;
            node ^= Offset(unit);
            if (HasLeaf(unit))
                return (uint)node < (uint)units.Length ? Replacement(Value(units[node])) : null;
        }
        return null;
    }

    string Replacement(int index) => replacements.GetOrAdd(index, i =>
    {
        if (i >= strings.Length)
            return "";
        int end = Array.IndexOf(strings, (byte)0, i);
        return System.Text.Encoding.UTF8.GetString(strings, i, (end < 0 ? strings.Length : end) - i);
    });

    public override NormalizedText Normalize(NormalizedText input)
    {
        string text = input.Text;
        NormalizedBuilder? output = null;
        int copied = 0;
        void Replace(int start, int end, string replacement)
        {
            output ??= new NormalizedBuilder(text.Length + 8);
            output.Copy(input, copied, start);
            output.Append(replacement, input.OriginalRange(start, end));
            copied = end;
        }

        for (int at = 0; at < text.Length;)
        {
            // An ASCII char before an ASCII char other than CR LF is a grapheme of its own.
            char c = text[at];
            if (c < 0x80 && (at + 1 == text.Length || text[at + 1] < 0x80) && !(c == '\r' && at + 1 < text.Length && text[at + 1] == '\n'))
            {
                if (asciiReplacements[c] is { } ascii)
                    Replace(at, at + 1, ascii);
                at++;
                continue;
            }
            var grapheme = text.AsSpan(at, StringInfo.GetNextTextElementLength(text.AsSpan(at)));
            if (System.Text.Encoding.UTF8.GetByteCount(grapheme) < MaxGraphemeBytes && Transform(grapheme) is { } whole)
            {
                Replace(at, at + grapheme.Length, whole);
            }
            else
            {
                for (int i = 0; i < grapheme.Length;)
                {
                    int width = NormalizedText.CharWidth(grapheme, i);
                    if (Transform(grapheme.Slice(i, width)) is { } replacement)
                        Replace(at + i, at + i + width, replacement);
                    i += width;
                }
            }
            at += grapheme.Length;
        }
        if (output is null)
            return input;
        output.Copy(input, copied, text.Length);
        return output.Build();
    }
}
