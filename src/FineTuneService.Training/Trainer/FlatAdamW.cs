using FineTuneService.Training.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuneService.Training.Trainer;

/// <summary>torch.optim.AdamW over Hugging Face's two decay groups, with each group's parameters and gradients laid out
/// in one flat float32 buffer: the parameters are views of the group's values, their <c>.grad</c> views of its gradient
/// buffer (backward accumulates into them in place). A step is one <c>torch._fused_adamw_</c> per group (reached through
/// TorchScript) instead of ~9 kernels per tensor, zeroing one fill per buffer, clipping two norms and a scale — all on
/// the device, with no read back to the host. Never call <c>Module.zero_grad()</c> on the model: it drops the views.
/// <para>bf16 (Hugging Face's <c>bf16=True</c> without autocast, which TorchSharp lacks): the float32 buffers stay the
/// master weights and the optimizer state; the model computes with a bfloat16 working copy of every parameter but the
/// norms' (a LayerNorm keeps float32 weights and computes in float32; the heads upcast the logits for the loss). Per
/// step: one copy of the bf16 gradients into the float32 ones, the update, one copy of the values back. Frozen
/// parameters get a bf16 copy too. Disposing puts the float32 weights back into the model.</para></summary>
public sealed class FlatAdamW : IDisposable
{
    /// <summary>Order: the parameter's position in its group as given (the bf16 layout reorders the buffer).</summary>
    sealed record Slot(string Name, int Order, long Offset, long Size, long[] Shape);

    sealed class Group : IDisposable
    {
        public readonly Slot[] Slots;
        public readonly Tensor Values, Grads, ExpAvg, ExpAvgSq;
        // The update count, a device tensor as the fused kernel wants it (on a GPU it never leaves the device).
        public readonly Tensor Steps;
        // bf16: the working copy of the first WorkingSize elements (the slots that compute in bf16 come first).
        public readonly Tensor? WorkingValues, WorkingGrads;
        public readonly long WorkingSize;
        public readonly double WeightDecay;

        public Group(Slot[] slots, long workingSize, bool bf16, double weightDecay, Device device)
        {
            var size = slots.Sum(s => s.Size);
            (Slots, WorkingSize, WeightDecay) = (slots, workingSize, weightDecay);
            Values = empty(size, ScalarType.Float32, device);
            (Grads, ExpAvg, ExpAvgSq) = (zeros_like(Values), zeros_like(Values), zeros_like(Values));
            Steps = zeros(1, ScalarType.Float32, device);
            if (bf16 && workingSize > 0)
                (WorkingValues, WorkingGrads) = (empty(workingSize, ScalarType.BFloat16, device), zeros(workingSize, ScalarType.BFloat16, device));
        }

        public Tensor View(Tensor flat, Slot slot) => flat.narrow(0, slot.Offset, slot.Size).view(slot.Shape);

        public bool Working(Slot slot) => WorkingValues is not null && slot.Offset < WorkingSize;

        public void SyncWorkingCopy()
        {
            if (WorkingValues is null) return;
            using var master = Values.narrow(0, 0, WorkingSize);
            WorkingValues.copy_(master);
        }

        /// <summary>The model's parameter storage: the working copy for the bf16 slots, the master values for the others.</summary>
        public void Attach(IReadOnlyDictionary<string, Parameter> parameters, bool master)
        {
            using var noGrad = no_grad();
            foreach (var slot in Slots)
            {
                var working = !master && Working(slot);
                var p = parameters[slot.Name];
                p.set_(View(working ? WorkingValues! : Values, slot));
                p.grad = master ? null : View(working ? WorkingGrads! : Grads, slot);
            }
        }

        public void Dispose()
        {
            Grads.Dispose(); ExpAvg.Dispose(); ExpAvgSq.Dispose(); Steps.Dispose();
            WorkingValues?.Dispose(); WorkingGrads?.Dispose();
        }
    }

    // One kernel per group: torch.optim.AdamW(fused=True)'s update. One compilation unit per thread: a unit invoked from
    // several threads at once (jobs, parallel tests) once failed inside TorchScript (Scalar::toLong on a float argument).
    static readonly ThreadLocal<jit.CompilationUnit> Script = new(() => jit.compile("""
        def step(params: List[Tensor], grads: List[Tensor], exp_avgs: List[Tensor], exp_avg_sqs: List[Tensor], steps: List[Tensor], lr: float, beta1: float, beta2: float, weight_decay: float, eps: float):
            torch._foreach_add_(steps, 1.0)
            torch._fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, [], steps, lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay, eps=eps, amsgrad=False, maximize=False)
        """ + "\n")); // the parser wants the body's last line ended

    readonly Group[] groups;
    readonly double beta1, beta2, eps;
    readonly nn.Module? bf16Module;
    readonly Dictionary<string, Parameter> given;
    // bf16: the float32 values of the frozen parameters, which compute in bf16 too
    readonly Dictionary<string, Tensor> frozen = [];
    bool disposed;

    /// <param name="decay">Parameters with weight decay, in a fixed order.</param>
    /// <param name="noDecay">Biases and LayerNorm weights: no weight decay.</param>
    /// <param name="bf16Module">For bf16 training, the module the parameters belong to (it is converted to bf16 but
    /// its LayerNorms); null for float32.</param>
    public FlatAdamW((string Name, Parameter Param)[] decay, (string Name, Parameter Param)[] noDecay,
        double weightDecay, double beta1, double beta2, double eps, nn.Module? bf16Module = null)
    {
        (this.beta1, this.beta2, this.eps, this.bf16Module) = (beta1, beta2, eps, bf16Module);
        var all = decay.Concat(noDecay).ToArray();
        if (all.Length == 0) throw new ArgumentException("Nothing to train: every parameter is frozen.");
        var device = all[0].Param.device;
        if (all.Any(p => p.Param.dtype != ScalarType.Float32 || p.Param.device_type != device.type || p.Param.device_index != device.index))
            throw new ArgumentException("The trainable parameters must be float32 tensors on one device.");
        given = all.ToDictionary(p => p.Name, p => p.Param);
        var keepsFloat32 = bf16Module is null ? [] : bf16Module.named_modules().Where(m => m.module is LayerNorm)
            .SelectMany(m => m.module.named_parameters().Select(p => m.name + "." + p.name)).ToHashSet();
        groups = new[] { (decay, weightDecay), (noDecay, 0.0) }.Where(g => g.Item1.Length > 0)
            .Select(g => Flatten(g.Item1, g.Item2, device, bf16Module is null ? null : keepsFloat32)).ToArray();
        if (bf16Module is not null)
        {
            using var noGrad = no_grad();
            foreach (var (name, p) in bf16Module.named_parameters().Where(p => !p.parameter.requires_grad))
                frozen[name] = p.detach().clone();
            bf16Module.to(ScalarType.BFloat16);
            foreach (var (_, m) in bf16Module.named_modules().Where(m => m.module is LayerNorm)) m.to(ScalarType.Float32);
        }
        foreach (var g in groups) g.Attach(Parameters(), master: false);
        WeightsLoaded(); // the working copies from the masters; a frozen LayerNorm's exact float32 values again
    }

    /// <summary>The model's parameters by name: converting a module to another dtype replaces its Parameter objects.</summary>
    IReadOnlyDictionary<string, Parameter> Parameters() =>
        bf16Module?.named_parameters().ToDictionary(p => p.name, p => p.parameter) ?? given;

    static Group Flatten((string Name, Parameter Param)[] parameters, double weightDecay, Device device, HashSet<string>? keepsFloat32)
    {
        // bf16 slots first, so the working copy covers a prefix of the master buffer.
        var ordered = parameters.Select((p, i) => (p.Name, p.Param, Order: i))
            .OrderBy(p => keepsFloat32?.Contains(p.Name) == true).ToArray();
        var slots = new List<Slot>();
        long offset = 0, workingSize = 0;
        foreach (var (name, p, order) in ordered)
        {
            slots.Add(new Slot(name, order, offset, p.numel(), p.shape));
            offset += p.numel();
            if (keepsFloat32 is not null && !keepsFloat32.Contains(name)) workingSize = offset;
        }
        var group = new Group(slots.ToArray(), workingSize, keepsFloat32 is not null, weightDecay, device);
        using var noGrad = no_grad();
        foreach (var (slot, (_, p, _)) in group.Slots.Zip(ordered))
            using (var values = group.View(group.Values, slot)) values.copy_(p);
        return group;
    }

    /// <summary>The number of updates so far (a read of the device's step count: for checkpoints, not per step).</summary>
    public long StepCount => (long)DeviceRead.Value<float>(groups[0].Steps);

    /// <summary>One AdamW update of every parameter at learning rate <paramref name="lr"/>, after clipping the
    /// gradients' total norm to <paramref name="maxGradNorm"/> (0: no clipping). Returns the norm before clipping,
    /// a device tensor (null without clipping).</summary>
    public Tensor? Step(double lr, double maxGradNorm)
    {
        foreach (var g in groups)
        {
            if (g.WorkingGrads is { } working)
                using (var master = g.Grads.narrow(0, 0, g.WorkingSize)) master.copy_(working);
        }

        var norm = maxGradNorm > 0 ? ClipGradNorm(maxGradNorm) : null;
        foreach (var g in groups)
        {
            Script.Value!.invoke("step", new[] { g.Values }, new[] { g.Grads }, new[] { g.ExpAvg }, new[] { g.ExpAvgSq }, new[] { g.Steps },
                lr, beta1, beta2, g.WeightDecay, eps);
            g.SyncWorkingCopy();
        }
        return norm;
    }

    public void ZeroGrad()
    {
        foreach (var g in groups)
        {
            g.Grads.zero_();
            g.WorkingGrads?.zero_();
        }
    }

    /// <summary>libtorch's clip_grad_norm_ (Hugging Face's clipping) without its read of the norm: the total 2-norm of
    /// the float32 gradients stays a device tensor, and they are scaled by max_norm / (norm + 1e-6) clamped to 1.</summary>
    public Tensor ClipGradNorm(double maxNorm)
    {
        using var scope = NewDisposeScope();
        var total = groups.Length == 1 ? groups[0].Grads.norm() : stack(groups.Select(g => g.Grads.norm()).ToArray()).norm();
        var coefficient = full_like(total, maxNorm).div_(total + 1e-6).clamp_(max: 1.0);
        foreach (var g in groups) g.Grads.mul_(coefficient);
        return total.MoveToOuterDisposeScope();
    }

    /// <summary>The model's state dict with float32 tensors in place of bf16 ones (the master weights, the frozen
    /// parameters' float32 values): what a checkpoint saves and loads (loading ends with <see cref="WeightsLoaded"/>).</summary>
    public Dictionary<string, Tensor> MasterWeights(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        var weights = new Dictionary<string, Tensor>(stateDict);
        foreach (var g in groups)
        {
            foreach (var slot in g.Slots.Where(g.Working))
                weights[slot.Name] = g.View(g.Values, slot);
        }

        foreach (var (name, float32) in frozen) weights[name] = float32;
        return weights;
    }

    /// <summary>Refreshes the bf16 working copies after the master weights were loaded.</summary>
    public void WeightsLoaded()
    {
        using var noGrad = no_grad();
        foreach (var g in groups) g.SyncWorkingCopy();
        var parameters = Parameters();
        foreach (var (name, float32) in frozen) parameters[name].copy_(float32);
    }

    /// <summary>exp_avg.&lt;name&gt; and exp_avg_sq.&lt;name&gt; per parameter (Hugging Face names) and the step count.</summary>
    public void Save(string path)
    {
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        foreach (var g in groups)
        {
            foreach (var slot in g.Slots)
            {
                tensors["exp_avg." + slot.Name] = g.View(g.ExpAvg, slot);
                tensors["exp_avg_sq." + slot.Name] = g.View(g.ExpAvgSq, slot);
            }
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
        {
            foreach (var slot in g.Slots)
            {
                SafeTensors.ReadInto(stored["exp_avg." + slot.Name], g.View(g.ExpAvg, slot));
                SafeTensors.ReadInto(stored["exp_avg_sq." + slot.Name], g.View(g.ExpAvgSq, slot));
            }
        }

        var step = long.Parse(SafeTensors.ReadMetadata(path)["step"], System.Globalization.CultureInfo.InvariantCulture);
        foreach (var g in groups) g.Steps.fill_(step);
    }

    /// <summary>Reads the optimizer.bin of checkpoints written before the flat buffers: TorchSharp's AdamW over the same
    /// two groups, in the same order, whose per-parameter state is copied into the buffers.</summary>
    public void LoadTorchSharpAdamW(string path)
    {
        using var scope = NewDisposeScope();
        // TorchSharp's state follows the parameters' order within each group (Trainer.ParameterGroups' order).
        var slots = groups.SelectMany(g => g.Slots.OrderBy(s => s.Order).Select(s => (Group: g, Slot: s))).ToArray();
        var parameters = Parameters();
        using var legacy = optim.AdamW(groups.Select(g => new AdamW.ParamGroup(g.Slots.OrderBy(s => s.Order).Select(s => parameters[s.Name]), new AdamW.Options { weight_decay = g.WeightDecay })));
        legacy.load_state_dict(path);
        var states = legacy.state_dict().State.Cast<AdamW.State>().ToArray();
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

    /// <summary>Puts the float32 weights back into the model (views of the master buffers) and drops the gradients.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        bf16Module?.to(ScalarType.Float32);
        var parameters = Parameters();
        foreach (var g in groups)
        {
            g.Attach(parameters, master: true);
            g.Dispose();
        }
        using var noGrad = no_grad();
        foreach (var (name, float32) in frozen) parameters[name].copy_(float32);
    }
}
