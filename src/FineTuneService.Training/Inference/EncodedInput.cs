namespace FineTuneService.Training.Inference;

/// <summary>An input with its tokens, made by <see cref="LoadedModel.Encode"/>.</summary>
public sealed record EncodedInput(PredictInput Input, Tokenization.Encoding Encoding)
{
    public int Length => Encoding.Length;
}
