using FineTuneService.Training.Tokenization;

namespace FineTuneService.Training.Tests.Tokenization;

/// <summary>What the Rust reference cannot show through its ids-only binding: pairs, type ids, offsets, the special
/// tokens tokenizer_config.json names, and files written back as they were read.</summary>
public class ByteLevelBpeTemplateTests
{
    [Fact]
    public void RobertaPairsAreFramedWithDoubleSeparatorsAndTypeIdsZero()
    {
        var tokenizer = ByteLevelBpeTokenizer.FromFolder(HuggingFaceParityTests.DressedBpe("roberta"));
        var e = tokenizer.Encode("a question", "the passage");
        int s = e.Ids[0], sep = e.Ids[^1];
        Assert.Equal(["<s>", "</s>"], new[] { e.Tokens[0], e.Tokens[^1] });
        Assert.Equal(2, e.Ids.Count(id => id == sep) - 1); // </s></s> between the texts, </s> at the end
        Assert.All(e.TypeIds, t => Assert.Equal(0, t));
        Assert.Equal(4, e.Ids.Count(id => id == s || id == sep));
        Assert.Equal(6, tokenizer.Encode("a question", "the passage", maxLength: 6).Length);
    }

    [Fact]
    public void OffsetsAreTrimmedOfTheSpaceATokenCarriesAndMaskSwallowsTheSpaceBeforeIt()
    {
        var tokenizer = ByteLevelBpeTokenizer.FromFolder(HuggingFaceParityTests.DressedBpe("roberta"));
        const string text = "the capital <mask> city";
        var e = tokenizer.Encode(text);
        for (int t = 1; t < e.Length - 1; t++)
        {
            if (e.Ids[t] == tokenizer.MaskId) continue;
            var (start, end) = e.Offsets[t];
            Assert.False(char.IsWhiteSpace(text[start]), $"token {t} '{e.Tokens[t]}' starts at a space");
            Assert.True(end > start);
        }
        int mask = Array.IndexOf(e.Ids, tokenizer.MaskId!.Value);
        Assert.Equal(" <mask>", text[e.Offsets[mask].Start..e.Offsets[mask].End]); // lstrip: the space is the mask's
    }

    [Fact]
    public void TokenizerConfigNamesPadMaskAndEosAndFilesAreWrittenBackAsRead()
    {
        var dir = HuggingFaceParityTests.DressedBpe("roberta");
        var tokenizer = ByteLevelBpeTokenizer.FromFolder(dir);
        Assert.Equal("<pad>", tokenizer.Decode([tokenizer.PadId], skipSpecialTokens: false));
        Assert.Equal("</s>", tokenizer.Decode([tokenizer.EosId], skipSpecialTokens: false));
        Assert.Equal(512, tokenizer.ModelMaxLength);
        Assert.Equal(["<|endoftext|>", "<s>", "</s>", "<pad>", "<unk>", "<mask>"], tokenizer.Specials.Select(t => t.Content));
        var copy = TempDir.Create();
        tokenizer.Save(copy);
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, file))),
                System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(copy, file)))), $"{file} changed on the way through");
        }

        var again = ByteLevelBpeTokenizer.FromFolder(copy);
        Assert.Equal(tokenizer.Encode("round trip <mask>", "pair").Ids, again.Encode("round trip <mask>", "pair").Ids);
        Assert.Equal(tokenizer.PadId, again.PadId);
    }

    [Fact]
    public void Llama3SpecialsAfterTheVocabularyExtendItAndStartEveryText()
    {
        var tokenizer = ByteLevelBpeTokenizer.FromFolder(HuggingFaceParityTests.DressedBpe("llama3"));
        var e = tokenizer.Encode("hello");
        Assert.Equal("<|begin_of_text|>", e.Tokens[0]);
        Assert.Equal(e.Ids[0] + 2, tokenizer.VocabSize);
        Assert.Equal("<|end_of_text|>", tokenizer.Decode([tokenizer.EosId], skipSpecialTokens: false));
        Assert.Equal("hello", tokenizer.Decode(e.Ids));
    }
}
