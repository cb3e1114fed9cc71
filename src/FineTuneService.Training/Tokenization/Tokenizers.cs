using FineTuneService.Training.Checkpoints;
namespace FineTuneService.Training.Tokenization;

public static class Tokenizers
{
    /// <summary>The file <see cref="LoadFromFolder"/> reads the tokenizer from, for messages.</summary>
    public static string FileOf(string dir) =>
        File.Exists(Path.Combine(dir, HfFiles.TokenizerJson)) ? HfFiles.TokenizerJson
        : File.Exists(Path.Combine(dir, HfFiles.VocabTxt)) ? HfFiles.VocabTxt
        : HfFiles.VocabJson;

    /// <summary>Loads the tokenizer of a Hugging Face folder: the model type in tokenizer.json decides (WordPiece, BPE or Unigram);
    /// without one, vocab.txt means WordPiece and vocab.json + merges.txt byte-level BPE.</summary>
    public static ITokenizer LoadFromFolder(string dir)
    {
        string tokenizerJson = Path.Combine(dir, HfFiles.TokenizerJson);
        if (File.Exists(tokenizerJson))
        {
            string type = HfFiles.ReadJsonObject(tokenizerJson)?["model"]?["type"]?.GetValue<string>() ?? "";
            return type switch
            {
                "WordPiece" => WordPieceTokenizer.FromFolder(dir),
                "BPE" => ByteLevelBpeTokenizer.FromFolder(dir),
                "Unigram" => UnigramTokenizer.FromFolder(dir),
                _ => throw new InvalidCheckpointException($"{tokenizerJson}: model type '{type}' is not supported (WordPiece, BPE or Unigram are)."),
            };
        }
        if (File.Exists(Path.Combine(dir, HfFiles.VocabTxt)))
            return WordPieceTokenizer.FromFolder(dir);
        if (File.Exists(Path.Combine(dir, HfFiles.VocabJson)) && File.Exists(Path.Combine(dir, HfFiles.MergesTxt)))
            return ByteLevelBpeTokenizer.FromFolder(dir);
        throw new InvalidCheckpointException(
            $"No tokenizer in {dir}: expected {HfFiles.TokenizerJson}, {HfFiles.VocabTxt}, or {HfFiles.VocabJson} with {HfFiles.MergesTxt}.");
    }
}
