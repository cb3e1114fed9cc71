namespace FineTuneService.Training.Models;

/// <summary>One dimension of a <c>config.json</c>, under its Hugging Face name.</summary>
public sealed record ShapeDimension(string Field, long Value, ShapeLimit Limit);
