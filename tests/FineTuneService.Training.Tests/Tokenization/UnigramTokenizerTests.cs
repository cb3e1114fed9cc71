using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Tokenization;
using HuggingFaceTokenizer = Tokenizers.DotNet.Tokenizer;

namespace FineTuneService.Training.Tests.Tokenization;

/// <summary>SentencePiece Unigram from tokenizer.json against Hugging Face `tokenizers` (Rust, through Tokenizers.DotNet) on
/// the same file: <c>tests/fixtures/sentencepiece</c> is a Unigram model trained by SentencePiece itself (spm_train, with
/// its real nmt_nfkc precompiled charsmap) and converted as transformers converts XLM-R's, plus dresses of it that
/// exercise the other normalizers, prepend schemes and byte fallback.</summary>
public class UnigramTokenizerTests
{
    static string Fixture => Path.Combine(TestData.Repository.FixturesDir, "sentencepiece");

    /// <summary><c>xlmr</c>: the fixture with XLM-R's tokenizer_config.json; <c>xlmr-legacy</c>: written as older
    /// conversions wrote it. <c>nfkc</c>: NFKC + Replace(String) + Strip,
    /// prepend_scheme first, no split, a normalized lstrip <c>&lt;mask&gt;</c>. <c>bytes</c>: byte_fallback with the 256
    /// byte pieces, Lowercase after the charsmap, prepend_scheme never, an rstrip <c>&lt;/s&gt;</c>.</summary>
    internal static string Dressed(string style)
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture, "tokenizer.json")))!.AsObject();
        var dir = TempDir.Create();
        var normalizers = root["normalizer"]!["normalizers"]!.AsArray();
        switch (style)
        {
            case "xlmr":
                File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """
                    {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>", "cls_token": "<s>",
                     "pad_token": "<pad>", "mask_token": "<mask>", "model_max_length": 512, "tokenizer_class": "XLMRobertaTokenizer"}
                    """);
                break;
            case "xlmr-legacy":
                // As older conversions wrote XLM-R's file: the charsmap alone, Metaspace with add_prefix_space, RobertaProcessing.
                root["normalizer"] = normalizers[0]!.DeepClone();
                root["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["str_rep"] = "▁", ["add_prefix_space"] = true };
                root["decoder"] = root["pre_tokenizer"]!.DeepClone();
                root["post_processor"] = new JsonObject
                {
                    ["type"] = "RobertaProcessing", ["sep"] = new JsonArray("</s>", 2), ["cls"] = new JsonArray("<s>", 0),
                    ["trim_offsets"] = true, ["add_prefix_space"] = true,
                };
                break;
            case "nfkc":
                root["normalizer"] = new JsonObject
                {
                    ["type"] = "Sequence",
                    ["normalizers"] = new JsonArray(
                        new JsonObject { ["type"] = "NFKC" },
                        new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "``" }, ["content"] = "\"" },
                        new JsonObject { ["type"] = "Strip", ["strip_left"] = true, ["strip_right"] = true }),
                };
                root["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "first", ["split"] = false };
                root["decoder"] = root["pre_tokenizer"]!.DeepClone();
                root["added_tokens"]![4]!["normalized"] = true;
                break;
            case "bytes":
                var vocab = root["model"]!["vocab"]!.AsArray();
                for (int b = 0; b < 256; b++)
                    vocab.Add(new JsonArray($"<0x{b:X2}>", 0.0));
                root["model"]!["byte_fallback"] = true;
                normalizers.Insert(1, new JsonObject { ["type"] = "Lowercase" });
                root["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "never", ["split"] = true };
                root["decoder"] = root["pre_tokenizer"]!.DeepClone();
                root["added_tokens"]![2]!["rstrip"] = true;
                break;
        }
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), root.ToJsonString());
        return dir;
    }

    static readonly string[] EdgeTexts =
    [
        "Paris is the <mask> of France.", "The capital is<mask>.", "  two  spaces <mask>  and <s> here </s>  x",
        "<s>already framed</s>", "</s></s>", "", " ", "   ", "\n\ttabs and\nnewlines\r\n", "``quoted''",
        "Ünïcödé façade – “quotes” … 東京 😀 🇫🇷 ｆｕｌｌｗｉｄｔｈ ① ﬁ ㍿", "don't won't it's we're I'll they've",
        "12345 3.14159 1,000,000", "e\u0301 a\u0308\u0301 \u1100\u1161\u11A8 \u0915\u094D\u0937", "\u200B\u200D\uFEFF\u00AD zero width",
        "\0 nul \u0001 control", "<unk> <pad> <mask><mask>",
    ];

    [Theory]
    [InlineData("xlmr")]
    [InlineData("xlmr-legacy")]
    [InlineData("nfkc")]
    [InlineData("bytes")]
    public void DressedUnigramGivesHuggingFaceIdsOnRealTextAndEdgeCases(string style)
    {
        var dir = Dressed(style);
        var ours = Assert.IsType<UnigramTokenizer>(FineTuneService.Training.Tokenization.Tokenizers.LoadFromFolder(dir));
        using var huggingFace = new HuggingFaceTokenizer(vocabPath: Path.Combine(dir, "tokenizer.json"));
        var mismatches = new List<string>();
        foreach (var text in WordPieceTokenizerTests.ReferenceLines().Select(l => l.Text).Take(400).Concat(EdgeTexts))
        {
            var expected = huggingFace.Encode(text).Select(id => (int)id).ToArray();
            var actual = ours.Encode(text).Ids;
            if (!actual.SequenceEqual(expected))
                mismatches.Add($"{JsonValue.Create(text).ToJsonString()}\n  Hugging Face [{string.Join(",", expected)}]\n  ours         [{string.Join(",", actual)}]");
        }
        Assert.True(mismatches.Count == 0, $"{style}: {mismatches.Count} texts differ; first ones:\n{string.Join("\n", mismatches.Take(5))}");
    }

    [Theory]
    [InlineData("xlmr")]
    [InlineData("bytes")]
    [InlineData("nfkc")]
    public void UnigramGivesHuggingFaceIdsOnEveryCodePoint(string style)
    {
        var dir = Dressed(style);
        HuggingFaceParityTests.AssertEveryCodePointAgrees(FineTuneService.Training.Tokenization.Tokenizers.LoadFromFolder(dir), dir);
    }

    [Fact]
    public void XlmRobertaStyleUnigramFramesPairsHonoursItsConfigAndDecodesAsHuggingFace()
    {
        var dir = Dressed("xlmr");
        var ours = UnigramTokenizer.FromFolder(dir);
        Assert.Equal((1, 1201, 512), (ours.PadId, ours.MaskId, ours.ModelMaxLength));
        Assert.Equal(1202, ours.VocabSize);
        // The charsmap really normalizes: fullwidth letters are the ASCII ones.
        Assert.Equal(ours.Encode("full width").Ids, ours.Encode("ｆｕｌｌ　ｗｉｄｔｈ").Ids);

        var pair = ours.Encode("the message type", "a field");
        var single = ours.Encode("the message type", addSpecialTokens: false);
        var second = ours.Encode("a field", addSpecialTokens: false);
        Assert.Equal([0, .. single.Ids, 2, 2, .. second.Ids, 2], pair.Ids);
        Assert.All(pair.TypeIds, t => Assert.Equal(0, t));
        Assert.Equal(8, ours.Encode("the message type", "a field", maxLength: 8).Length);

        // Offsets: each token covers the original chars it stands for; a ▁ stands for the space before its word.
        const string text = "the message type is known";
        var encoding = ours.Encode(text, addSpecialTokens: false);
        for (int i = 0; i < encoding.Length; i++)
        {
            var (start, end) = encoding.Offsets[i];
            Assert.Equal(encoding.Tokens[i].Replace('▁', ' ').TrimStart(), text[start..end].TrimStart());
        }
        Assert.Equal(Enumerable.Range(0, 5), encoding.WordIds.Distinct().Select(w => w!.Value));

        using var huggingFace = new HuggingFaceTokenizer(vocabPath: Path.Combine(dir, "tokenizer.json"));
        foreach (var line in WordPieceTokenizerTests.ReferenceLines().Select(l => l.Text).Take(100).Concat(EdgeTexts))
        {
            var ids = huggingFace.Encode(line);
            Assert.Equal(huggingFace.Decode(ids), ours.Decode(ids.Select(id => (int)id)));
        }
    }

    [Fact]
    public void UnigramIsWrittenBackUnchangedAndRefusesWhatItCannotRun()
    {
        var dir = Dressed("xlmr");
        var saved = TempDir.Create();
        UnigramTokenizer.FromFolder(dir).Save(saved);
        Assert.Equal(JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")))!.ToJsonString(),
            JsonNode.Parse(File.ReadAllText(Path.Combine(saved, "tokenizer.json")))!.ToJsonString());
        Assert.True(File.Exists(Path.Combine(saved, "tokenizer_config.json")));

        void Refused(Action<JsonObject> change, string expected)
        {
            var root = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")))!.AsObject();
            change(root);
            var bad = TempDir.Create();
            File.WriteAllText(Path.Combine(bad, "tokenizer.json"), root.ToJsonString());
            var e = Assert.Throws<InvalidCheckpointException>(() => FineTuneService.Training.Tokenization.Tokenizers.LoadFromFolder(bad));
            Assert.Contains(expected, e.Message);
        }
        Refused(r => r["pre_tokenizer"] = new JsonObject { ["type"] = "Whitespace" }, "pre_tokenizer 'Whitespace'");
        Refused(r => r["normalizer"]!["normalizers"]![0]!["precompiled_charsmap"] = "AAAA", "precompiled_charsmap");
        Refused(r => r["normalizer"] = new JsonObject { ["type"] = "NFKD" }, "normalizer 'NFKD'");
        Refused(r => r["model"]!["unk_id"] = 5000, "unk_id 5000");
    }
}
