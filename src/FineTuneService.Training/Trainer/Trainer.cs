using System.Diagnostics;
using System.Text.RegularExpressions;
using FineTuneService.Training.Data;
using FineTuneService.Training.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuneService.Training.Trainer;

/// <summary>The fine-tune loop with Hugging Face Trainer semantics, top to bottom: AdamW with the HF decay groups (fused, over flat buffers),
/// schedule as a pure function of the step, gradient accumulation, clipping, logging, evaluation, checkpoints
/// (resumed exactly), best model, early stopping. Progress and metrics go to the observer.</summary>
public sealed partial class Trainer
{
    // All cores, unless OMP_NUM_THREADS says otherwise (as PyTorch honours it): OpenMP threads that outnumber the
    // free cores spin against each other, e.g. parallel test classes on a 2-core machine.
    static Trainer() => torch.set_num_threads(
        int.TryParse(Environment.GetEnvironmentVariable("OMP_NUM_THREADS"), out var threads) && threads > 0 ? threads : Environment.ProcessorCount);

    readonly ITaskModel model;
    readonly TrainingArguments args;
    readonly ITrainingData train;
    readonly ITrainingData? eval;
    readonly IReadOnlyList<string> labelNames;
    readonly string checkpointsDir;
    readonly ITrainingObserver observer;
    readonly Device device;

    /// <param name="labelNames">id → label; token classification uses them as IOB2 tags for entity metrics.</param>
    /// <param name="checkpointsDir">where checkpoint-&lt;step&gt; folders go; training resumes from the newest one there.</param>
    public Trainer(ITaskModel model, TrainingArguments args, ITrainingData train, ITrainingData? eval,
        IReadOnlyList<string> labelNames, string checkpointsDir, ITrainingObserver observer, Device? device = null)
    {
        if (args.EvalStrategy != "no" && eval is null)
            throw new ArgumentException("eval_strategy needs evaluation data.", nameof(eval));
        (this.model, this.args, this.train, this.eval, this.labelNames, this.checkpointsDir, this.observer) =
            (model, args, train, eval, labelNames, checkpointsDir, observer);
        this.device = device ?? CPU;
    }

    /// <summary>Seeds torch (weights init, dropout) on every device; the data order is seeded per epoch by the dataset.</summary>
    public static void SetSeed(int seed)
    {
        torch.manual_seed(seed);
        if (torch.cuda.is_available()) torch.cuda.manual_seed_all(seed);
    }

    public int StepsPerEpoch => (int)Math.Ceiling((double)BatchesPerEpoch / args.GradientAccumulationSteps);
    int BatchesPerEpoch => (train.Count + args.PerDeviceTrainBatchSize - 1) / args.PerDeviceTrainBatchSize;
    public int TotalSteps => args.MaxSteps > 0 ? args.MaxSteps : (int)Math.Ceiling(args.NumTrainEpochs * StepsPerEpoch);

    /// <param name="pause">When set, the loop checkpoints after the step it is in and throws <see cref="TrainingPausedException"/>;
    /// training from that checkpoint continues as if never stopped.</param>
    public TrainerResult Train(CancellationToken cancellationToken, CancellationToken pause = default)
    {
        var module = model.Module;
        Freeze(module);
        var (decay, noDecay) = ParameterGroups(module);
        using var optimizer = new FlatAdamW(decay, noDecay, args.WeightDecay, args.AdamBeta1, args.AdamBeta2, args.AdamEpsilon, args.Bf16 ? module : null);
        ApplyTf32();
        var state = ResumeOrSeed(module, optimizer);
        var schedule = new Schedule(args, TotalSteps);
        using var totals = new RunningTotals(state, device);

        module.train();
        var stop = state.GlobalStep >= schedule.TotalSteps;
        for (var epoch = state.Epoch; !stop; epoch++)
        {
            var batches = train.TrainBatches(args.PerDeviceTrainBatchSize, args.Seed, epoch, args.GroupByLength);
            var first = epoch == state.Epoch ? state.BatchInEpoch : 0;
            for (var b = first; b < batches.Length && !stop; b++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var groupStart = b - b % args.GradientAccumulationSteps;
                var groupSize = Math.Min(args.GradientAccumulationSteps, batches.Length - groupStart);
                ForwardBackward(batches[b], groupSize, totals);
                if (b - groupStart + 1 < groupSize) continue;

                Step(optimizer, schedule.LearningRate(state.GlobalStep), totals);
                var epochEnd = b == batches.Length - 1;
                EndStep(state, totals, epochEnd ? (epoch + 1, 0) : (epoch, b + 1));
                stop = state.GlobalStep >= schedule.TotalSteps;
                var epochValue = (double)state.GlobalStep / StepsPerEpoch;
                observer.Progress(state.GlobalStep, schedule.TotalSteps, epochValue);

                if (state.GlobalStep % args.LoggingSteps == 0 || stop) Log(state, totals, epochValue, schedule.LearningRate(state.GlobalStep));
                var evaluated = Due(args.EvalStrategy, args.EvalSteps ?? args.LoggingSteps, state.GlobalStep, epochEnd, stop);
                if (evaluated) stop |= EvaluateAndTrack(state, epochValue);
                var pausing = pause.IsCancellationRequested && !stop;
                if (Due(args.SaveStrategy, args.SaveSteps, state.GlobalStep, epochEnd, stop) || pausing) SaveCheckpoint(module, optimizer, state, totals, evaluated);
                if (pausing) throw new TrainingPausedException(state.GlobalStep);
            }
        }
        totals.ReadLosses(state);
        optimizer.Dispose(); // the model's float32 weights again (bf16 trained a working copy)
        return Finish(module, state, totals);
    }

    /// <summary>The warm-up and decay of the learning rate: a pure function of the step.</summary>
    sealed class Schedule(TrainingArguments args, int totalSteps)
    {
        readonly int warmup = LearningRateSchedule.WarmupSteps(args, totalSteps);

        public int TotalSteps => totalSteps;

        public double LearningRate(int step) => args.LearningRate * LearningRateSchedule.Factor(args.LrSchedulerType, step, warmup, totalSteps);
    }

    void ApplyTf32()
    {
        if (args.Tf32 is { } tf32 && device.type == DeviceType.CUDA)
        {
            // Process-wide in libtorch: a worker's jobs on other devices see it too.
            torch.backends.cuda.matmul.allow_tf32 = tf32;
            torch.backends.cudnn.allow_tf32 = tf32;
        }
    }

    /// <summary>The state of the newest checkpoint, loaded into the model and optimizer; or a fresh run, seeded.</summary>
    TrainerState ResumeOrSeed(nn.Module module, FlatAdamW optimizer)
    {
        if (TrainerCheckpoint.Latest(checkpointsDir) is { } latest)
        {
            var state = TrainerCheckpoint.Load(latest, module, optimizer);
            observer.Event($"Resumed from {Path.GetFileName(latest)} (step {state.GlobalStep}).");
            return state;
        }
        SetSeed(args.Seed);
        return new TrainerState();
    }

    /// <summary>forward → loss (mean over the accumulation group) → backward; the loss is summed on the device.</summary>
    void ForwardBackward(int[] indices, int groupSize, RunningTotals totals)
    {
        using var scope = NewDisposeScope();
        var batch = train.Collate(indices);
        if (device.type != DeviceType.CPU) batch = batch.To(device);
        var loss = model.Forward(batch).Loss! / groupSize;
        loss.backward();
        totals.StepLoss.add_(loss.detach());
        totals.WindowSamples += batch.Size;
        totals.WindowTokens += batch.Tokens; // a host count the collator made: no read of the device
    }

    /// <summary>clip (max_grad_norm 0: not at all), update, zero the gradients.</summary>
    void Step(FlatAdamW optimizer, double learningRate, RunningTotals totals)
    {
        using var scope = NewDisposeScope();
        var norm = optimizer.Step(learningRate, args.MaxGradNorm);
        if (norm is not null)
        {
            totals.GradNorm?.Dispose();
            totals.GradNorm = norm.MoveToOuterDisposeScope();
        }
        optimizer.ZeroGrad();
    }

    /// <summary>Counts the step, adds its loss to the sums and moves the data position to <paramref name="next"/>.</summary>
    void EndStep(TrainerState state, RunningTotals totals, (int Epoch, int BatchInEpoch) next)
    {
        state.GlobalStep++;
        // A full collection keeps memory flat (dispose scopes alone leak ~29 MB a step on CPU) but costs the host ~2 ms
        // or more, while on a GPU the host only queues kernels. H200, 16×128 steps, every step → every 10: MiniLM
        // fine-tune 615 → 543 samples/s, small-BERT MLM 497 → 838; peak GPU memory the same (2.3 GB).
        if (device.type == DeviceType.CPU || state.GlobalStep % 10 == 0)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        totals.LossSum.add_(totals.StepLoss);
        totals.TotalLoss.add_(totals.StepLoss);
        totals.StepLoss.zero_();
        state.LossSteps++;
        (state.Epoch, state.BatchInEpoch) = next;
    }

    /// <summary>The train metrics of the steps since the last log: mean loss, learning rate, throughput, gradient norm.</summary>
    void Log(TrainerState state, RunningTotals totals, double epochValue, double learningRate)
    {
        totals.ReadLosses(state);
        var seconds = Math.Max(totals.Window.Elapsed.TotalSeconds, 1e-9);
        var logs = new Dictionary<string, double>
        {
            ["loss"] = state.LossSum / state.LossSteps,
            ["learning_rate"] = learningRate,
            ["epoch"] = epochValue,
            ["train_samples_per_second"] = totals.WindowSamples / seconds,
            ["train_tokens_per_second"] = totals.WindowTokens / seconds,
        };
        if (totals.GradNorm is not null) logs["grad_norm"] = DeviceRead.Value<float>(totals.GradNorm);
        observer.Metrics(state.GlobalStep, epochValue, "train", logs);
        state.LogHistory.Add(new(logs) { ["step"] = state.GlobalStep });
        totals.RunSamples += totals.WindowSamples;
        (state.LossSum, state.LossSteps, totals.WindowSamples, totals.WindowTokens) = (0, 0, 0, 0);
        totals.LossSum.zero_();
        totals.Window.Restart();
    }

    /// <summary>Evaluates, reports and tracks the best metric; returns true when early stopping says stop.</summary>
    bool EvaluateAndTrack(TrainerState state, double epochValue)
    {
        var metrics = Evaluate();
        observer.Metrics(state.GlobalStep, epochValue, "eval", metrics);
        state.LogHistory.Add(new(metrics) { ["step"] = state.GlobalStep, ["epoch"] = epochValue });
        state.LastEval = metrics;
        return TrackBest(state, metrics);
    }

    void SaveCheckpoint(nn.Module module, FlatAdamW optimizer, TrainerState state, RunningTotals totals, bool evaluated)
    {
        if (evaluated && state.BestStep == state.GlobalStep) state.BestCheckpoint = TrainerCheckpoint.Name(state.GlobalStep);
        totals.ReadLosses(state);
        observer.BeforeCheckpoint(state.GlobalStep, TrainerCheckpoint.EstimatedBytes(module));
        var path = TrainerCheckpoint.Save(checkpointsDir, module, optimizer, state);
        TrainerCheckpoint.Rotate(checkpointsDir, args.SaveTotalLimit, args.LoadBestModelAtEnd ? state.BestCheckpoint : null);
        observer.Checkpoint(state.GlobalStep, path, evaluated ? state.LastEval! : new Dictionary<string, double>());
    }

    /// <summary>The run's train_* figures and the eval_* of the model it keeps (the best checkpoint's, when loaded).</summary>
    TrainerResult Finish(nn.Module module, TrainerState state, RunningTotals totals)
    {
        var seconds = totals.Clock.Elapsed.TotalSeconds;
        var final = new Dictionary<string, double>
        {
            ["train_loss"] = state.TotalLoss / Math.Max(1, state.GlobalStep),
            ["train_runtime"] = seconds,
            ["train_samples_per_second"] = (totals.RunSamples + totals.WindowSamples) / Math.Max(seconds, 1e-9),
            ["train_steps_per_second"] = (state.GlobalStep - totals.StartStep) / Math.Max(seconds, 1e-9),
            ["epoch"] = (double)state.GlobalStep / StepsPerEpoch,
        };
        if (args.LoadBestModelAtEnd && state.BestCheckpoint is { } best)
        {
            TrainerCheckpoint.LoadModel(Path.Combine(checkpointsDir, best), module);
            observer.Event($"Loaded the best model from {best} ({args.BestMetricKey} = {state.BestMetric}).");
        }
        var evalMetrics = args.LoadBestModelAtEnd && state.BestCheckpoint is not null ? state.BestEval
            : state.LastEval ?? (eval is null ? null : Evaluate());
        foreach (var (k, v) in evalMetrics ?? []) final[k] = v;
        return new TrainerResult(state.GlobalStep, final, state.BestCheckpoint);
    }

    /// <summary>What one run sums as it goes. The losses and the gradient norm stay on the device and are read only to
    /// log, checkpoint or report: each read waits for the device (on a GPU a stall of the launch queue). float64 sums of
    /// the float32 losses are bit for bit the host doubles they replace, so a checkpoint's loss accumulators and a
    /// resumed run stay exact. Samples and tokens are host counts.</summary>
    sealed class RunningTotals(TrainerState state, Device device) : IDisposable
    {
        public Tensor StepLoss { get; } = zeros(Array.Empty<long>(), float64, device);
        public Tensor LossSum { get; } = tensor(state.LossSum, float64, device);
        public Tensor TotalLoss { get; } = tensor(state.TotalLoss, float64, device);
        public Tensor? GradNorm { get; set; }
        public Stopwatch Clock { get; } = Stopwatch.StartNew();
        public Stopwatch Window { get; } = Stopwatch.StartNew();
        public int StartStep { get; } = state.GlobalStep;
        public long WindowSamples { get; set; }
        public long WindowTokens { get; set; }
        public long RunSamples { get; set; }

        public void ReadLosses(TrainerState into) => (into.LossSum, into.TotalLoss) = (DeviceRead.Value<double>(LossSum), DeviceRead.Value<double>(TotalLoss));

        public void Dispose()
        {
            GradNorm?.Dispose();
            StepLoss.Dispose();
            LossSum.Dispose();
            TotalLoss.Dispose();
        }
    }

    static bool Due(string strategy, int every, int step, bool epochEnd, bool last) => strategy switch
    {
        "steps" => step % every == 0 || last,
        "epoch" => epochEnd || last,
        _ => false,
    };

    /// <summary>Updates the best metric; returns true when early stopping says stop. Like HF's EarlyStoppingCallback,
    /// an evaluation counts as an improvement only when it beats the previous best by more than the threshold.</summary>
    bool TrackBest(TrainerState state, IReadOnlyDictionary<string, double> metrics)
    {
        if (args.MetricForBestModel is null) return false;
        if (!metrics.TryGetValue(args.BestMetricKey, out var value))
            throw new InvalidOperationException($"metric_for_best_model '{args.MetricForBestModel}' is not among the evaluation metrics ({string.Join(", ", metrics.Keys)}).");
        bool Better(double a, double b) => args.GreaterIsBetter == true ? a > b : a < b;
        var improved = state.BestMetric is not { } best || (Better(value, best) && Math.Abs(value - best) > args.EarlyStoppingThreshold);
        state.PatienceCounter = improved ? 0 : state.PatienceCounter + 1;
        if (state.BestMetric is not { } previous || Better(value, previous))
            (state.BestMetric, state.BestStep, state.BestEval) = (value, state.GlobalStep, new(metrics));
        if (args.EarlyStoppingPatience is { } patience && state.PatienceCounter >= patience)
        {
            observer.Event($"Early stopping at step {state.GlobalStep}: {args.BestMetricKey} did not improve for {patience} evaluations.");
            return true;
        }
        return false;
    }

    /// <summary>eval_loss and the task metrics on the evaluation data, under no_grad and eval().</summary>
    public Dictionary<string, double> Evaluate()
    {
        var data = eval ?? throw new InvalidOperationException("No evaluation data.");
        var module = model.Module;
        module.eval();
        double lossSum = 0;
        var evaluation = data.StartEvaluation(labelNames);
        using (no_grad())
        {
            foreach (var indices in data.EvalBatches(args.PerDeviceEvalBatchSize))
            {
                using var scope = NewDisposeScope();
                var batch = data.Collate(indices);
                if (device.type != DeviceType.CPU) batch = batch.To(device);
                var output = model.Forward(batch);
                lossSum += DeviceRead.Value<float>(output.Loss!) * indices.Length;
                evaluation.Add(indices, batch, output);
            }
        }
        module.train();
        GC.Collect();
        GC.WaitForPendingFinalizers();

        var result = new Dictionary<string, double> { ["eval_loss"] = lossSum / data.Count };
        foreach (var (k, v) in evaluation.Metrics()) result["eval_" + k] = v;
        return result;
    }

    /// <summary>freeze_embeddings and freeze_layers (the bottom N encoder / decoder blocks): no gradient, not optimized.</summary>
    void Freeze(nn.Module module)
    {
        foreach (var (name, p) in module.named_parameters())
        {
            var layer = LayerIndex().Match(name);
            if ((args.FreezeEmbeddings && IsEmbedding(name)) || (layer.Success && int.Parse(layer.Groups[1].Value) < args.FreezeLayers))
                p.requires_grad = false;
        }
    }

    static bool IsEmbedding(string name) => name.Contains("embeddings.", StringComparison.Ordinal) || name.Contains("embed_tokens.", StringComparison.Ordinal)
        || name.StartsWith("transformer.wte.", StringComparison.Ordinal) || name.StartsWith("transformer.wpe.", StringComparison.Ordinal);

    // BERT/RoBERTa encoder.layer.N, DistilBERT transformer.layer.N, GPT-2 h.N, Llama/Qwen2 layers.N.
    [GeneratedRegex(@"(?:^|\.)(?:encoder\.layer|transformer\.layer|h|layers)\.(\d+)\.")]
    private static partial Regex LayerIndex();

    /// <summary>Hugging Face's split of the trainable parameters: weight decay on all but biases and LayerNorm weights.</summary>
    public static ((string Name, Parameter Param)[] Decay, (string Name, Parameter Param)[] NoDecay) ParameterGroups(nn.Module module)
    {
        var layerNorms = module.named_modules().Where(m => m.module is LayerNorm).Select(m => m.name + ".").ToArray();
        var trainable = module.named_parameters().Where(p => p.parameter.requires_grad).ToArray();
        bool NoDecay(string name) => name.EndsWith("bias", StringComparison.Ordinal)
            || layerNorms.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal));
        return (trainable.Where(p => !NoDecay(p.name)).ToArray(), trainable.Where(p => NoDecay(p.name)).ToArray());
    }
}
