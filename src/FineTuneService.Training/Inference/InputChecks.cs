using FineTuneService.Training.Models;
using FineTuneService.Training.Tokenization;

namespace FineTuneService.Training.Inference;

/// <summary>Tokenizes inputs for a model of one kind and checks that each is one it can take; errors name the input by its index.</summary>
static class InputChecks
{
    public static EncodedInput[] Encode(ModelKind kind, ITokenizer tokenizer, int maxLength, IReadOnlyList<PredictInput> inputs)
    {
        if (kind == ModelKind.Encoder)
        {
            throw new PredictInputException("this model is a bare encoder with no task head; fine-tune it to predict (tokenize works)");
        }
        var encoded = new EncodedInput[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            if (kind == ModelKind.Clm)
            {
                if (input.TextPair is not null)
                {
                    throw new PredictInputException("a causal language model takes a single prompt", i, "text_pair");
                }
                encoded[i] = new EncodedInput(input, tokenizer.Encode(input.Text));
                if (encoded[i].Length == 0)
                {
                    throw new PredictInputException("the prompt is empty", i);
                }
                continue;
            }
            encoded[i] = new EncodedInput(input, tokenizer.Encode(input.Text, input.TextPair, maxLength));
            if (kind == ModelKind.Mlm && (tokenizer.MaskId is not { } mask || !encoded[i].Encoding.Ids.Contains(mask)))
            {
                throw new PredictInputException(tokenizer.MaskId is null ? "the model's tokenizer has no mask token" : "has no [MASK] token to fill", i);
            }
        }
        return encoded;
    }
}
