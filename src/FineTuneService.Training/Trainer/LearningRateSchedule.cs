namespace FineTuneService.Training.Trainer;

/// <summary>Hugging Face <c>get_scheduler</c> lambdas as a pure function of the optimizer step:
/// update number <c>step</c> (0-based) uses <c>learning_rate * Factor(step)</c>.</summary>
public static class LearningRateSchedule
{
    /// <summary>HF <c>get_warmup_steps</c>: warmup_steps when set, else ceil(total * warmup_ratio).</summary>
    public static int WarmupSteps(TrainingArguments args, int totalSteps) =>
        args.WarmupSteps > 0 ? args.WarmupSteps : (int)Math.Ceiling(totalSteps * args.WarmupRatio);

    public static double Factor(string type, int step, int warmupSteps, int totalSteps)
    {
        if (type != "constant" && step < warmupSteps) return (double)step / Math.Max(1, warmupSteps);
        var progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps);
        return type switch
        {
            "constant" or "constant_with_warmup" => 1.0,
            "linear" => Math.Max(0.0, (double)(totalSteps - step) / Math.Max(1, totalSteps - warmupSteps)),
            // num_cycles = 0.5: a half cosine from 1 down to 0.
            "cosine" => Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * 0.5 * 2.0 * progress))),
            _ => throw new ArgumentException($"Unknown lr_scheduler_type '{type}'.", nameof(type)),
        };
    }
}
