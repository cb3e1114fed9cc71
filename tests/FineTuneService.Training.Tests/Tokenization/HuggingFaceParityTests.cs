using System.Text;
using System.Text.Json.Nodes;
using FineTuneService.Training.Tokenization;
using HuggingFaceTokenizer = Tokenizers.DotNet.Tokenizer;

namespace FineTuneService.Training.Tests.Tokenization;

/// <summary>Every Unicode code point, in a few contexts, tokenized by ours and by Hugging Face `tokenizers` (Rust,
/// through Tokenizers.DotNet) from the same tokenizer.json: Unicode data differs between .NET and the Rust crates
/// (categories, case pairs), and this is where it would show.</summary>
public class HuggingFaceParityTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EveryCodePointGivesHuggingFaceWordPieceIds(bool lowercase)
    {
        var fixture = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.MiniLm, "tokenizer.json")))!;
        fixture["normalizer"]!["lowercase"] = lowercase;
        var dir = TempDir.Create();
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), fixture.ToJsonString());
        AssertEveryCodePointAgrees(WordPieceTokenizer.FromFolder(dir), dir);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryCodePointGivesHuggingFaceByteLevelBpeIds(bool lowercase)
    {
        var corpus = WordPieceTokenizerTests.ReferenceLines().Select(l => l.Text).Take(500);
        var tokenizer = BpeTrainer.Train(corpus, vocabSize: 600, minFrequency: 2, lowercase);
        var dir = TempDir.Create();
        tokenizer.Save(dir);
        AssertEveryCodePointAgrees(tokenizer, dir);
    }

    /// <summary>A byte-level BPE trained on real text, dressed as tokenizer.json files of the families that use it:
    /// <c>roberta</c> (special tokens in the vocabulary, <c>&lt;mask&gt;</c> with lstrip, add_prefix_space,
    /// RobertaProcessing), <c>template</c> (ModernBERT's [CLS] $A [SEP] TemplateProcessing) and <c>llama3</c> (specials
    /// after the BPE vocabulary as added tokens only, ignore_merges, a Sequence of ByteLevel and a bos template).</summary>
    internal static string DressedBpe(string style)
    {
        var corpus = WordPieceTokenizerTests.ReferenceLines().Select(l => l.Text).Take(500);
        var trained = BpeTrainer.Train(corpus, vocabSize: 600, minFrequency: 2);
        var dir = TempDir.Create();
        trained.Save(dir);
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")))!.AsObject();
        var vocab = root["model"]!["vocab"]!.AsObject();
        var added = root["added_tokens"]!.AsArray();
        int Add(string content, bool inVocab, bool lstrip = false)
        {
            int id = vocab.Count + added.Count - 1;
            if (inVocab) { id = vocab.Count; vocab[content] = id; }
            added.Add(new JsonObject
            {
                ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = lstrip, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            });
            return id;
        }
        JsonArray Special(string id) => new(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = id, ["type_id"] = 0 } });
        static JsonObject Sequence(string id, int type) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = type } };
        static JsonObject Split(string regex, string behavior = "Isolated", bool invert = false) => new()
        {
            ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = regex }, ["behavior"] = behavior, ["invert"] = invert,
        };
        static JsonObject ByteLevelStep(bool trimOffsets) => new()
        {
            ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = trimOffsets, ["use_regex"] = false,
        };
        if (style.StartsWith("split-", StringComparison.Ordinal))
        {
            // split-<behavior>[-invert]: whitespace runs as the delimiter.
            var parts = style.Split('-');
            root["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(Split(@"\s+", parts[1], parts.Length > 2), ByteLevelStep(false)),
            };
        }
        switch (style)
        {
            case "llama3-split" or "qwen2":
                // Their tokenizer.json files as published: a Split with the model's regex, then ByteLevel without one.
                root["pre_tokenizer"] = new JsonObject
                {
                    ["type"] = "Sequence",
                    ["pretokenizers"] = new JsonArray(Split(style == "qwen2" ? Qwen2Regex : Llama3Regex), ByteLevelStep(style != "qwen2")),
                };
                if (style == "qwen2")
                {
                    root["normalizer"] = new JsonObject { ["type"] = "NFC" };
                    Add("<|im_start|>", false);
                    Add("<|im_end|>", false);
                    File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"),
                        """{"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "model_max_length": 32768}""");
                    break;
                }
                goto case "llama3";
            case "roberta":
                int s = Add("<s>", true), e = Add("</s>", true);
                Add("<pad>", true); Add("<unk>", true); Add("<mask>", true, lstrip: true);
                root["pre_tokenizer"]!["add_prefix_space"] = true;
                root["post_processor"] = new JsonObject
                {
                    ["type"] = "RobertaProcessing", ["sep"] = new JsonArray("</s>", e), ["cls"] = new JsonArray("<s>", s),
                    ["trim_offsets"] = true, ["add_prefix_space"] = true,
                };
                File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"),
                    """{"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "mask_token": "<mask>", "model_max_length": 512}""");
                break;
            case "template":
                int cls = Add("[CLS]", true), sep = Add("[SEP]", true);
                Add("[MASK]", true, lstrip: true);
                root["post_processor"] = new JsonObject
                {
                    ["type"] = "TemplateProcessing",
                    ["single"] = new JsonArray(Special("[CLS]")[0]!.DeepClone(), Sequence("A", 0), Special("[SEP]")[0]!.DeepClone()),
                    ["pair"] = new JsonArray(Special("[CLS]")[0]!.DeepClone(), Sequence("A", 0), Special("[SEP]")[0]!.DeepClone(), Sequence("B", 0), Special("[SEP]")[0]!.DeepClone()),
                    ["special_tokens"] = new JsonObject
                    {
                        ["[CLS]"] = new JsonObject { ["id"] = "[CLS]", ["ids"] = new JsonArray(cls), ["tokens"] = new JsonArray("[CLS]") },
                        ["[SEP]"] = new JsonObject { ["id"] = "[SEP]", ["ids"] = new JsonArray(sep), ["tokens"] = new JsonArray("[SEP]") },
                    },
                };
                break;
            case "llama3":
                int bos = Add("<|begin_of_text|>", false);
                Add("<|end_of_text|>", false);
                root["model"]!["ignore_merges"] = true;
                root["post_processor"] = new JsonObject
                {
                    ["type"] = "Sequence",
                    ["processors"] = new JsonArray(
                        new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
                        new JsonObject
                        {
                            ["type"] = "TemplateProcessing",
                            ["single"] = new JsonArray(Special("<|begin_of_text|>")[0]!.DeepClone(), Sequence("A", 0)),
                            ["pair"] = new JsonArray(Special("<|begin_of_text|>")[0]!.DeepClone(), Sequence("A", 0), Special("<|begin_of_text|>")[0]!.DeepClone(), Sequence("B", 1)),
                            ["special_tokens"] = new JsonObject
                            {
                                ["<|begin_of_text|>"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["ids"] = new JsonArray(bos), ["tokens"] = new JsonArray("<|begin_of_text|>") },
                            },
                        }),
                };
                File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}""");
                break;
        }
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), root.ToJsonString());
        foreach (var stale in new[] { "vocab.json", "merges.txt", "special_tokens_map.json" })
            File.Delete(Path.Combine(dir, stale));
        return dir;
    }

    /// <summary>Llama 3's pre-tokenizer regex, as its tokenizer.json has it.</summary>
    internal const string Llama3Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Qwen2's: digits one by one.</summary>
    internal const string Qwen2Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>The every-code-point sweep on the richest dress (prefix spaces, a stripping added token, a template).</summary>
    [Fact]
    public void RobertaStyleByteLevelBpeGivesHuggingFaceIdsOnEveryCodePoint()
    {
        var dir = DressedBpe("roberta");
        AssertEveryCodePointAgrees(FineTuneService.Training.Tokenization.Tokenizers.LoadFromFolder(dir), dir);
    }

    /// <summary>The Split-regex pre-tokenizers (Llama 3's, Qwen2's with NFC) on every code point, astral letters and
    /// digits included: .NET's regex sees UTF-16 chars, the Rust crate code points.</summary>
    [Theory]
    [InlineData("qwen2")]
    [InlineData("llama3-split")]
    public void SplitRegexByteLevelBpeGivesHuggingFaceIdsOnEveryCodePoint(string style)
    {
        var dir = DressedBpe(style);
        AssertEveryCodePointAgrees(FineTuneService.Training.Tokenization.Tokenizers.LoadFromFolder(dir), dir);
    }

    [Fact]
    public void Qwen2StyleBpeHonoursItsTokenizerConfig()
    {
        var ours = Assert.IsType<ByteLevelBpeTokenizer>(FineTuneService.Training.Tokenization.Tokenizers.LoadFromFolder(DressedBpe("qwen2")));
        Assert.Equal(("<|im_end|>", "<|endoftext|>", 32768),
            (ours.Vocab[ours.EosId], ours.Vocab[ours.PadId], ours.ModelMaxLength));
        var chat = ours.Encode("<|im_start|>user\nhi<|im_end|>");
        Assert.Equal(("<|im_start|>", "<|im_end|>"), (chat.Tokens[0], chat.Tokens[^1]));
        Assert.Equal([(0, 12), (19, 29)], [chat.Offsets[0], chat.Offsets[^1]]);
        Assert.Equal("user\nhi", string.Concat(chat.Offsets[1..^1].Select(o => "<|im_start|>user\nhi<|im_end|>"[o.Start..o.End])));
    }

    [Theory]
    [InlineData("roberta")]
    [InlineData("template")]
    [InlineData("llama3")]
    [InlineData("llama3-split")]
    [InlineData("qwen2")]
    [InlineData("split-Removed")]
    [InlineData("split-MergedWithPrevious")]
    [InlineData("split-MergedWithNext")]
    [InlineData("split-Contiguous")]
    [InlineData("split-Isolated-invert")]
    public void DressedByteLevelBpeGivesHuggingFaceIdsAroundItsSpecialTokens(string style)
    {
        var dir = DressedBpe(style);
        var ours = FineTuneService.Training.Tokenization.Tokenizers.LoadFromFolder(dir);
        Assert.Equal(style is "roberta" or "template" or "llama3" or "llama3-split", ours.Template != PostTemplate.None);
        using var huggingFace = new HuggingFaceTokenizer(vocabPath: Path.Combine(dir, "tokenizer.json"));
        foreach (var line in WordPieceTokenizerTests.ReferenceLines().Take(300))
            Assert.True(ours.Encode(line.Text).Ids.SequenceEqual(huggingFace.Encode(line.Text).Select(id => (int)id)), $"{style} '{line.Text}'");
        string[] texts =
        [
            "Paris is the <mask> of France.", "The capital is<mask>.", "  two  spaces <mask>  and [MASK] here [CLS]",
            "<s>already framed</s>", "<|begin_of_text|>hello<|end_of_text|> world", "", " ", "\n\ttabs and\nnewlines\r\n",
            "Ünïcödé façade – “quotes” … 東京 😀 🇫🇷", "don't won't it's we're I'll they've", "12345 3.14159 1,000,000",
            "DON'T I'LL We'Re", "e\u0301 A\u030A \u1100\u1161\u11A8 composed by NFC", "𝐀𝐁𝐂 𝟏𝟐𝟑 𐐀𐐨 𠀀𠀁 astral", "<|im_start|>user\nhi<|im_end|>",
            "  lead and trail  ", "a\r\n\r\nb\n\n\n  c",
        ];
        foreach (var text in texts)
        {
            Assert.True(ours.Encode(text).Ids.SequenceEqual(huggingFace.Encode(text).Select(id => (int)id)),
                $"{style} '{text}': ours {string.Join(" ", ours.Encode(text).Ids)}, Hugging Face {string.Join(" ", huggingFace.Encode(text))}");
        }
    }

    /// <summary>Code points 0–0x3FFFF and the tag and variation-selector block, 512 to a text, each as
    /// <c>a{c}b {c}A{c}'s 1{c}</c>; a differing text is then narrowed down to its code points.</summary>
    internal static void AssertEveryCodePointAgrees(ITokenizer ours, string dir)
    {
        using var huggingFace = new HuggingFaceTokenizer(vocabPath: Path.Combine(dir, "tokenizer.json"));
        bool Agree(string text) => ours.Encode(text).Ids.SequenceEqual(huggingFace.Encode(text).Select(id => (int)id));
        static string Context(int cp)
        {
            string c = char.ConvertFromUtf32(cp);
            return $"a{c}b {c}A{c}'s 1{c} ";
        }

        var codePoints = Enumerable.Range(0, 0x40000).Concat(Enumerable.Range(0xE0000, 0x200))
            .Where(cp => cp is < 0xD800 or > 0xDFFF);
        var differing = new List<string>();
        foreach (var chunk in codePoints.Chunk(512))
        {
            var text = new StringBuilder();
            foreach (int cp in chunk)
                text.Append(Context(cp));
            if (!Agree(text.ToString()))
                differing.AddRange(chunk.Where(cp => !Agree(Context(cp))).Select(cp => $"U+{cp:X4}"));
        }
        Assert.True(differing.Count == 0, $"{differing.Count} code points differ: {string.Join(" ", differing.Take(20))}");
    }
}
