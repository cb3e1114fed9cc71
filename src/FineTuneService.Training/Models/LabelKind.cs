namespace FineTuneService.Training.Models;

/// <summary>What the labels of a fine-tune dataset are, and so how a batch carries them.</summary>
public enum LabelKind { SingleLabel, MultiLabel, Regression, Token }
