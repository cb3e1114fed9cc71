using FineTuneService.Training.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuneService.Training.Trainer;

/// <summary>torch.optim.AdamW over Hugging Face's two decay groups, with each group's parameters and gradients laid out
/// in one flat buffer: the parameters are views of the group's values, their <c>.grad</c> views of its gradient buffer
/// (backward accumulates into them in place). A step is one <c>torch._fused_adamw_</c> per group (reached through
/// TorchScript) instead of ~9 kernels per tensor, zeroing one fill per group, clipping two norms and a scale — all on the
/// device, with no read back to the host. Never call <c>Module.zero_grad()</c> on the model: it drops the views.</summary>
public sealed class FlatAdamW : IDisposable
{
    sealed record Slot(string Name, Parameter Param, long Offset, long[] Shape);

    sealed class Group(Slot[] slots, Tensor values, Tensor grads, double weightDecay) : IDisposable
    {
        public readonly Slot[] Slots = slots;
        public readonly Tensor Values = values, Grads = grads, ExpAvg = zeros_like(values), ExpAvgSq = zeros_like(values);
        // The update count, a device tensor as the fused kernel wants it (on a GPU it never leaves the device).
        public readonly Tensor Steps = zeros(1, ScalarType.Float32, values.device);
        public readonly double WeightDecay = weightDecay;

        public Tensor View(Tensor flat, Slot slot) => flat.narrow(0, slot.Offset, slot.Shape.Aggregate(1L, (a, b) => a * b)).view(slot.Shape);

        public void Dispose()
        {
            foreach (var slot in Slots) slot.Param.grad = null;
            Values.Dispose(); Grads.Dispose(); ExpAvg.Dispose(); ExpAvgSq.Dispose(); Steps.Dispose();
        }
    }

    // One kernel per group: torch.optim.AdamW(fused=True)'s update.
    static readonly Lazy<jit.CompilationUnit> Script = new(() => jit.compile("""
        def step(params: List[Tensor], grads: List[Tensor], exp_avgs: List[Tensor], exp_avg_sqs: List[Tensor], steps: List[Tensor], lr: float, beta1: float, beta2: float, weight_decay: float, eps: float):
            torch._foreach_add_(steps, 1.0)
            torch._fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, [], steps, lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay, eps=eps, amsgrad=False, maximize=False)
        """ + "\n")); // the parser wants the body's last line ended

    readonly Group[] groups;
    readonly double beta1, beta2, eps;

    /// <param name="decay">Parameters with weight decay, in a fixed order (it is the checkpoint's order too).</param>
    /// <param name="noDecay">Biases and LayerNorm weights: no weight decay.</param>
    public FlatAdamW((string Name, Parameter Param)[] decay, (string Name, Parameter Param)[] noDecay,
        double weightDecay, double beta1, double beta2, double eps)
    {
        (this.beta1, this.beta2, this.eps) = (beta1, beta2, eps);
        var all = decay.Concat(noDecay).ToArray();
        if (all.Length == 0) throw new ArgumentException("Nothing to train: every parameter is frozen.");
        var device = all[0].Param.device;
        if (all.Any(p => p.Param.dtype != ScalarType.Float32 || p.Param.device_type != device.type || p.Param.device_index != device.index))
            throw new ArgumentException("The trainable parameters must be float32 tensors on one device.");
        groups = new[] { (decay, weightDecay), (noDecay, 0.0) }.Where(g => g.Item1.Length > 0)
            .Select(g => Flatten(g.Item1, g.Item2, device)).ToArray();
    }

    static Group Flatten((string Name, Parameter Param)[] parameters, double weightDecay, Device device)
    {
        var slots = new List<Slot>();
        long offset = 0;
        foreach (var (name, p) in parameters)
        {
            slots.Add(new Slot(name, p, offset, p.shape));
            offset += p.numel();
        }
        var group = new Group(slots.ToArray(), empty(offset, ScalarType.Float32, device), zeros(offset, ScalarType.Float32, device), weightDecay);
        using var noGrad = no_grad();
        foreach (var slot in group.Slots)
        {
            using var values = group.View(group.Values, slot);
            values.copy_(slot.Param);
            slot.Param.set_(values);
            slot.Param.grad = group.View(group.Grads, slot);
        }
        return group;
    }

    /// <summary>The number of updates so far (a read of the device's step count: for checkpoints, not per step).</summary>
    public long StepCount => (long)DeviceRead.Value<float>(groups[0].Steps);

    /// <summary>One AdamW update of every parameter at learning rate <paramref name="lr"/>.</summary>
    public void Step(double lr)
    {
        foreach (var g in groups)
            Script.Value.invoke("step", new[] { g.Values }, new[] { g.Grads }, new[] { g.ExpAvg }, new[] { g.ExpAvgSq }, new[] { g.Steps },
                lr, beta1, beta2, g.WeightDecay, eps);
    }

    public void ZeroGrad()
    {
        foreach (var g in groups) g.Grads.zero_();
    }

    /// <summary>libtorch's clip_grad_norm_ (Hugging Face's clipping) without its read of the norm: the total 2-norm of
    /// the gradients stays a device tensor, and the gradients are scaled by max_norm / (norm + 1e-6) clamped to 1.</summary>
    public Tensor ClipGradNorm(double maxNorm)
    {
        using var scope = NewDisposeScope();
        var total = groups.Length == 1 ? groups[0].Grads.norm() : stack(groups.Select(g => g.Grads.norm()).ToArray()).norm();
        var coefficient = full_like(total, maxNorm).div_(total + 1e-6).clamp_(max: 1.0);
        foreach (var g in groups) g.Grads.mul_(coefficient);
        return total.MoveToOuterDisposeScope();
    }

    /// <summary>exp_avg.&lt;name&gt; and exp_avg_sq.&lt;name&gt; per parameter (Hugging Face names) and the step count.</summary>
    public void Save(string path)
    {
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        foreach (var g in groups)
            foreach (var slot in g.Slots)
            {
                tensors["exp_avg." + slot.Name] = g.View(g.ExpAvg, slot);
                tensors["exp_avg_sq." + slot.Name] = g.View(g.ExpAvgSq, slot);
            }
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["step"] = StepCount.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    public void Load(string path)
    {
        using var scope = NewDisposeScope();
        var stored = SafeTensors.Index(path).ToDictionary(t => t.Name);
        var expected = groups.SelectMany(g => g.Slots).SelectMany(s => new[] { "exp_avg." + s.Name, "exp_avg_sq." + s.Name }).ToHashSet();
        if (!expected.SetEquals(stored.Keys))
            throw new InvalidCheckpointException($"'{Path.GetFileName(path)}' holds the optimizer state of other parameters than the model trains.");
        foreach (var g in groups)
            foreach (var slot in g.Slots)
            {
                SafeTensors.ReadInto(stored["exp_avg." + slot.Name], g.View(g.ExpAvg, slot));
                SafeTensors.ReadInto(stored["exp_avg_sq." + slot.Name], g.View(g.ExpAvgSq, slot));
            }
        var step = long.Parse(SafeTensors.ReadMetadata(path)["step"], System.Globalization.CultureInfo.InvariantCulture);
        foreach (var g in groups) g.Steps.fill_(step);
    }

    /// <summary>Reads the optimizer.bin of checkpoints written before the flat buffers: TorchSharp's AdamW over the same
    /// two groups, in the same order, whose per-parameter state is copied into the buffers.</summary>
    public void LoadTorchSharpAdamW(string path)
    {
        using var scope = NewDisposeScope();
        using var legacy = optim.AdamW(groups.Select(g => new AdamW.ParamGroup(g.Slots.Select(s => s.Param), new AdamW.Options { weight_decay = g.WeightDecay })));
        legacy.load_state_dict(path);
        var states = legacy.state_dict().State.Cast<AdamW.State>().ToArray();
        var slots = groups.SelectMany(g => g.Slots.Select(s => (Group: g, Slot: s))).ToArray();
        if (states.Length != slots.Length) throw new InvalidCheckpointException($"'{Path.GetFileName(path)}' holds {states.Length} parameter states for {slots.Length} parameters.");
        using var noGrad = no_grad();
        for (var i = 0; i < slots.Length; i++)
        {
            var (g, slot) = slots[i];
            g.View(g.ExpAvg, slot).copy_(states[i].exp_avg);
            g.View(g.ExpAvgSq, slot).copy_(states[i].exp_avg_sq);
        }
        foreach (var g in groups) g.Steps.fill_(states.Max(s => s.step));
    }

    public void Dispose()
    {
        foreach (var g in groups) g.Dispose();
    }
}
