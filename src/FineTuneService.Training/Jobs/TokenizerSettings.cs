namespace FineTuneService.Training.Jobs;

/// <summary>The tokenizer a from-scratch pretraining job trains on its corpus (spec <c>tokenizer</c>).</summary>
public sealed record TokenizerSettings(int VocabSize, bool Lowercase, int MinFrequency);
