using System.Diagnostics;
using System.Threading.Channels;
using FineTuneService.Platform.Http;
using FineTuneService.Training.Inference;
using FineTuneService.Training.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

namespace FineTuneService.Platform.Serving;

/// <summary>Merges concurrent predict requests for the same model (and options) into one forward on one worker
/// thread, so the device serves a crowd in a few large batches instead of many small ones.
/// Requests that arrive while a forward runs wait and go together into the next one, up to
/// <see cref="InferenceOptions.MaxBatchTokens"/> tokens. When the previous batch held more requests than are
/// waiting, the batcher waits up to <see cref="InferenceOptions.BatchWindowMs"/> for the rest of that crowd to come
/// back; after a batch of one (an idle service) it never waits, so a lone client pays no delay.
/// The model sorts the merged inputs by length, so they are padded little.</summary>
public sealed class DynamicBatcher : IDisposable
{
    static readonly Histogram BatchRequests = Metrics.CreateHistogram("fts_inference_batch_requests",
        "Predict requests merged into one batch", new HistogramConfiguration { Buckets = [1, 2, 4, 8, 16, 32, 64, 128] });
    static readonly Histogram BatchSeconds = Metrics.CreateHistogram("fts_inference_batch_seconds",
        "Time to predict one merged batch", new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });

    readonly Channel<Work> queue = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    readonly InferenceOptions options;
    readonly ILogger<DynamicBatcher> logger;
    readonly Thread worker;
    Task<bool>? pendingWait;

    public DynamicBatcher(IOptions<InferenceOptions> options, ILogger<DynamicBatcher> logger)
    {
        this.options = options.Value;
        this.logger = logger;
        worker = new Thread(Run) { IsBackground = true, Name = "inference-batcher" };
        worker.Start();
    }

    /// <summary>Predictions for <paramref name="inputs"/>, in order, computed in a batch with other requests.
    /// A model with <see cref="InferenceOptions.MaxQueuedRequestsPerModel"/> requests waiting refuses more with
    /// <see cref="TooManyRequestsException"/> (429), so a crowd cannot queue without bound.</summary>
    public async Task<IReadOnlyList<Prediction>> PredictAsync(LoadedModel model, EncodedInput[] inputs, PredictOptions predictOptions,
        CancellationToken cancellationToken)
    {
        var waiting = pending.AddOrUpdate(model, 1, (_, n) => n + 1);
        try
        {
            if (waiting > options.MaxQueuedRequestsPerModel)
            {
                throw new TooManyRequestsException(
                    $"The model has {options.MaxQueuedRequestsPerModel} requests waiting (Inference:MaxQueuedRequestsPerModel); try again shortly.",
                    RetryAfter);
            }
            var work = new Work(model, inputs, predictOptions, inputs.Sum(i => i.Length), cancellationToken);
            if (!queue.Writer.TryWrite(work))
            {
                throw new ObjectDisposedException(nameof(DynamicBatcher));
            }
            return await work.Done.Task;
        }
        finally
        {
            pending.AddOrUpdate(model, 0, (_, n) => n - 1);
        }
    }

    /// <summary>What a refused request is told to wait: about one batch.</summary>
    static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    readonly System.Collections.Concurrent.ConcurrentDictionary<LoadedModel, int> pending = new(ReferenceEqualityComparer.Instance);

    void Run()
    {
        var backlog = new List<Work>();
        int previousRequests = 1;
        var window = TimeSpan.FromMilliseconds(options.BatchWindowMs);
        while (backlog.Count > 0 || WaitForWork(Timeout.InfiniteTimeSpan))
        {
            Drain(backlog);
            var batch = Gather(backlog, out bool full);
            if (batch.Count < previousRequests && !full && window > TimeSpan.Zero)
            {
                long started = Stopwatch.GetTimestamp();
                while (batch.Count < previousRequests && !full)
                {
                    var remaining = window - Stopwatch.GetElapsedTime(started);
                    if (remaining <= TimeSpan.Zero || !WaitForWork(remaining))
                    {
                        break;
                    }
                    Drain(backlog);
                    batch = Gather(backlog, out full);
                }
            }
            backlog.RemoveAll(batch.Contains);
            Execute(batch);
            previousRequests = batch.Count;
        }
    }

    /// <summary>The oldest request and the later ones that can share its forward, within the token budget.</summary>
    List<Work> Gather(List<Work> backlog, out bool full)
    {
        var head = backlog[0];
        var batch = new List<Work> { head };
        int tokens = head.Tokens;
        full = false;
        foreach (var work in backlog.Skip(1))
        {
            if (!ReferenceEquals(work.Model, head.Model) || work.Options != head.Options)
            {
                continue;
            }
            if (tokens + work.Tokens > options.MaxBatchTokens)
            {
                full = true;
                break;
            }
            batch.Add(work);
            tokens += work.Tokens;
        }
        return batch;
    }

    void Execute(List<Work> batch)
    {
        var live = batch.Where(w => !w.Cancellation.IsCancellationRequested).ToList();
        foreach (var cancelled in batch.Except(live))
        {
            cancelled.Done.TrySetCanceled(cancelled.Cancellation);
        }
        if (live.Count == 0)
        {
            return;
        }
        long started = Stopwatch.GetTimestamp();
        try
        {
            if (live[0].Model.Kind == ModelKind.Clm)
            {
                // Generation runs prompt by prompt anyway: each request's own token stops it when its client goes away.
                foreach (var work in live)
                {
                    try { work.Done.TrySetResult(work.Model.Predict(work.Inputs, work.Options, work.Cancellation)); }
                    catch (OperationCanceledException) { work.Done.TrySetCanceled(work.Cancellation); }
                }
            }
            else
            {
                var results = live[0].Model.Predict(live.SelectMany(w => w.Inputs).ToArray(), live[0].Options);
                int offset = 0;
                foreach (var work in live)
                {
                    work.Done.TrySetResult(results.Skip(offset).Take(work.Inputs.Length).ToArray());
                    offset += work.Inputs.Length;
                }
            }
        }
        catch (Exception e)
        {
            logger.LogError(e, "Predicting a batch of {Requests} requests failed", live.Count);
            foreach (var work in live)
            {
                work.Done.TrySetException(e);
            }
        }
        BatchRequests.Observe(live.Count);
        BatchSeconds.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    void Drain(List<Work> backlog)
    {
        while (queue.Reader.TryRead(out var work))
        {
            backlog.Add(work);
        }
    }

    /// <summary>True when work is waiting; false when the timeout passed first or the batcher is shutting down.</summary>
    bool WaitForWork(TimeSpan timeout)
    {
        pendingWait ??= queue.Reader.WaitToReadAsync().AsTask();
        if (!pendingWait.Wait(timeout))
        {
            return false;
        }
        bool more = pendingWait.Result;
        pendingWait = null;
        return more;
    }

    public void Dispose()
    {
        queue.Writer.TryComplete();
        worker.Join();
    }

    sealed class Work(LoadedModel model, EncodedInput[] inputs, PredictOptions options, int tokens, CancellationToken cancellation)
    {
        public LoadedModel Model { get; } = model;
        public EncodedInput[] Inputs { get; } = inputs;
        public PredictOptions Options { get; } = options;
        public int Tokens { get; } = tokens;
        public CancellationToken Cancellation { get; } = cancellation;
        public TaskCompletionSource<IReadOnlyList<Prediction>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
