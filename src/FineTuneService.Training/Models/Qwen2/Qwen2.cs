using System.Text.Json.Serialization;

namespace FineTuneService.Training.Models;

// Qwen2 (modeling_qwen2.py) is Llama's forward pass with biases on q_proj, k_proj and v_proj (not o_proj), under
// Qwen2's class names and defaults.

/// <summary>Hugging Face <c>Qwen2Config</c>; defaults are Qwen2-7B's.</summary>
public sealed record Qwen2Config : LlamaConfig
{
    public static new readonly ModelFamily Family = Heads("qwen2", typeof(Qwen2Config), "Qwen2");

    public Qwen2Config()
    {
        VocabSize = 151936;
        IntermediateSize = 22016;
        MaxPositionEmbeddings = 32768;
        BosTokenId = null;
        EosTokenId = null;
    }

    [JsonPropertyName("model_type")] public override string ModelType => "qwen2";
    [JsonIgnore] public override bool QkvBias => true;
    [JsonPropertyName("use_sliding_window")] public bool UseSlidingWindow { get; init; }

    protected override void ValidateShape()
    {
        base.ValidateShape();
        // transformers applies Qwen2's window (layers ≥ max_window_layers) only in flash attention; its eager and SDPA
        // masks window every layer in 4.40 and none in 4.48, so there is no one reference to match. Released Qwen2 and
        // Qwen2.5 checkpoints ship false.
        Require(!UseSlidingWindow, "use_sliding_window true is not supported: transformers itself computes it only with flash attention "
            + "(its eager and SDPA paths disagree across versions); released Qwen2 checkpoints set it false");
    }
}
