namespace FineTuneService.Training.Tokenization;

/// <summary>Hugging Face truncation strategies: `longest_first`, `only_first`, `only_second`.</summary>
public enum TruncationStrategy
{
    LongestFirst,
    OnlyFirst,
    OnlySecond,
}
