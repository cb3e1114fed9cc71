namespace FineTuneService.Training.Models;

/// <summary>What a dimension of a model's shape bounds, so one limit covers the same kind of size in every family.</summary>
public enum ShapeLimit { Layers, Width, Heads, Vocabulary, Positions, Labels }
