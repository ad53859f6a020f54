using System.Collections;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using FastSeg.Torch;

namespace FastSeg.Data;

/// <summary>
/// A batch: images (N x C x H x W float32), masks (N x H x W int64; null for unlabelled data) and the sample ids.
/// The batch belongs to the consumer and to no dispose scope: dispose it when done (or move its tensors into a scope).
/// </summary>
public sealed class Batch : IDisposable
{
    internal Batch(torch.Tensor images, torch.Tensor? masks, string[] ids, int[] indices, int epoch, int position)
    {
        Images = images;
        Masks = masks;
        Ids = ids;
        Indices = indices;
        Epoch = epoch;
        Position = position;
    }

    /// <summary>N x C x H x W float32 images (normalised when the pipeline has <see cref="Normalize"/>).</summary>
    public torch.Tensor Images { get; }

    /// <summary>N x H x W int64 train ids, or null when the samples have no masks.</summary>
    public torch.Tensor? Masks { get; }

    /// <summary>Sample ids, in batch order.</summary>
    public IReadOnlyList<string> Ids { get; }

    /// <summary>Dataset indices, in batch order.</summary>
    public IReadOnlyList<int> Indices { get; }

    /// <summary>Number of samples (smaller than the batch size for a last partial batch or after skipped samples).</summary>
    public int Count => Ids.Count;

    /// <summary>The epoch the batch belongs to.</summary>
    public int Epoch { get; }

    /// <summary>The batch's position in its epoch (0-based, counting batches that were left out entirely).</summary>
    public int Position { get; }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Masks?.Dispose();
    }
}

/// <summary>Describes the worker thread that is running, inside dataset and transform code.</summary>
/// <param name="Id">Worker number, 0..NumWorkers-1.</param>
/// <param name="NumWorkers">How many workers the loader runs.</param>
/// <param name="Seed">A seed fixed by (loader seed, epoch, rank, worker id), for code that wants per-worker randomness.</param>
public sealed record WorkerInfo(int Id, int NumWorkers, long Seed);

/// <summary>
/// Turns a dataset into batches (PyTorch's DataLoader). Samples are decoded and augmented by
/// <see cref="NumWorkers"/> background threads (none: on the calling thread); batch k is built by worker
/// k mod NumWorkers, at most <see cref="PrefetchFactor"/> batches ahead per worker, and batches come out in order.
/// Each sample is augmented with a generator seeded by (seed, epoch, rank, position in the epoch), so the batches do
/// not depend on the number of workers. Each enumeration is one epoch; the epoch advances after each enumeration
/// unless <see cref="SetEpoch"/> sets it (as DistributedSampler.set_epoch).
/// </summary>
public sealed class DataLoader : IEnumerable<Batch>
{
    [ThreadStatic] private static WorkerInfo? t_worker;
    [ThreadStatic] private static float[]? t_imageBuffer;
    [ThreadStatic] private static long[]? t_maskBuffer;

    private readonly ConcurrentQueue<string> _skipLog = new();
    private long _skipped;
    private int _epoch;

    /// <summary>Creates the loader.</summary>
    /// <param name="dataset">The samples (with their <see cref="SegmentationDataset.Transform"/>).</param>
    /// <param name="batchSize">Samples per batch.</param>
    /// <param name="shuffle">A new random order every epoch (ignored when <paramref name="sampler"/> is given).</param>
    /// <param name="dropLast">Leave out the last batch when it is not full.</param>
    /// <param name="numWorkers">Background threads; 0 loads on the consuming thread.</param>
    /// <param name="prefetchFactor">Batches each worker may have ready ahead of the consumer.</param>
    /// <param name="seed">Fixes the shuffle and all augmentation.</param>
    /// <param name="sampler">The index order (e.g. <see cref="DistributedSampler"/>); default sequential or random.</param>
    public DataLoader(SegmentationDataset dataset, int batchSize = 1, bool shuffle = false, bool dropLast = false, int numWorkers = 0,
        int prefetchFactor = 2, long seed = 0, Sampler? sampler = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be at least 1");
        if (numWorkers < 0) throw new ArgumentOutOfRangeException(nameof(numWorkers), numWorkers, "cannot be negative");
        if (prefetchFactor < 1) throw new ArgumentOutOfRangeException(nameof(prefetchFactor), prefetchFactor, "must be at least 1");
        Dataset = dataset;
        BatchSize = batchSize;
        DropLast = dropLast;
        NumWorkers = numWorkers;
        PrefetchFactor = prefetchFactor;
        Seed = seed;
        Sampler = sampler ?? (shuffle ? new RandomSampler(dataset.Count, seed) : new SequentialSampler(dataset.Count));
    }

    /// <summary>The dataset.</summary>
    public SegmentationDataset Dataset { get; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether a last partial batch is left out.</summary>
    public bool DropLast { get; }

    /// <summary>Background threads (0: load on the consuming thread).</summary>
    public int NumWorkers { get; }

    /// <summary>Batches each worker may prepare ahead.</summary>
    public int PrefetchFactor { get; }

    /// <summary>The seed of shuffling and augmentation.</summary>
    public long Seed { get; }

    /// <summary>The index order.</summary>
    public Sampler Sampler { get; }

    /// <summary>Called on each worker thread before it loads anything.</summary>
    public Action<WorkerInfo>? WorkerInit { get; set; }

    /// <summary>The epoch of the next enumeration.</summary>
    public int Epoch => Volatile.Read(ref _epoch);

    /// <summary>Sets the epoch of the next enumeration (the shuffle and augmentation depend on it).</summary>
    public void SetEpoch(int epoch) => Volatile.Write(ref _epoch, epoch);

    /// <summary>Batches per epoch (before any skipped samples).</summary>
    public int Count => DropLast ? Sampler.Count / BatchSize : (Sampler.Count + BatchSize - 1) / BatchSize;

    /// <summary>Samples skipped so far because they were unusable (with <see cref="InvalidSamplePolicy.Skip"/>).</summary>
    public long SkippedSamples => Interlocked.Read(ref _skipped);

    /// <summary>The messages of the skipped samples (the first 1000).</summary>
    public IReadOnlyCollection<string> SkipMessages => _skipLog;

    /// <summary>The worker running the current code, or null on a thread that is not a loader worker.</summary>
    public static WorkerInfo? CurrentWorker => t_worker;

    /// <summary>One epoch of batches; the epoch then advances.</summary>
    public IEnumerator<Batch> GetEnumerator() => GetBatches().GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// One epoch of batches, stopped by <paramref name="cancellationToken"/> (the enumeration then throws
    /// <see cref="OperationCanceledException"/>). Leaving the loop early stops the workers and frees batches that were
    /// prepared but not taken.
    /// </summary>
    public IEnumerable<Batch> GetBatches(CancellationToken cancellationToken = default)
    {
        int epoch = Interlocked.Increment(ref _epoch) - 1;
        var order = Sampler.Indices(epoch);
        var batches = new List<int[]>();
        for (int start = 0; start < order.Length; start += BatchSize)
        {
            int n = Math.Min(BatchSize, order.Length - start);
            if (n < BatchSize && DropLast) break;
            batches.Add(order.AsSpan(start, n).ToArray());
        }
        return NumWorkers == 0 ? RunInline(epoch, batches, cancellationToken) : RunWorkers(epoch, batches, cancellationToken);
    }

    private IEnumerable<Batch> RunInline(int epoch, List<int[]> batches, CancellationToken token)
    {
        long skippedBefore = SkippedSamples;
        for (int b = 0; b < batches.Count; b++)
        {
            token.ThrowIfCancellationRequested();
            var batch = Build(epoch, b, batches[b], token);
            if (batch is not null) yield return batch;
        }
        ReportEpoch(epoch, skippedBefore);
    }

    private sealed class Result
    {
        public Batch? Batch;
        public ExceptionDispatchInfo? Error;
    }

    private IEnumerable<Batch> RunWorkers(int epoch, List<int[]> batches, CancellationToken token)
    {
        long skippedBefore = SkippedSamples;
        int workers = Math.Min(NumWorkers, Math.Max(1, batches.Count));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
        var queues = new BlockingCollection<Result>[workers];
        var threads = new Thread[workers];
        for (int w = 0; w < workers; w++)
        {
            queues[w] = new BlockingCollection<Result>(new ConcurrentQueue<Result>(), PrefetchFactor);
            int id = w;
            threads[w] = new Thread(() => Work(id, workers, epoch, batches, queues[id], stop.Token))
            {
                IsBackground = true,
                Name = $"FastSeg.Data worker {w}",
            };
        }
        foreach (var t in threads) t.Start();
        try
        {
            for (int b = 0; b < batches.Count; b++)
            {
                Result r;
                try
                {
                    r = queues[b % workers].Take(stop.Token);
                }
                catch (OperationCanceledException)
                {
                    token.ThrowIfCancellationRequested();
                    throw;
                }
                catch (InvalidOperationException)
                {
                    // The worker completed its queue without this batch: it stopped on cancellation.
                    token.ThrowIfCancellationRequested();
                    throw new InvalidOperationException($"data loader worker {b % workers} stopped before batch {b}");
                }
                r.Error?.Throw();
                if (r.Batch is not null) yield return r.Batch;
            }
            ReportEpoch(epoch, skippedBefore);
        }
        finally
        {
            stop.Cancel();
            foreach (var t in threads) t.Join();
            foreach (var q in queues)
            {
                while (q.TryTake(out var left)) left.Batch?.Dispose();
                q.Dispose();
            }
        }
    }

    private void Work(int id, int workers, int epoch, List<int[]> batches, BlockingCollection<Result> queue, CancellationToken token)
    {
        try
        {
            var info = new WorkerInfo(id, workers, DataRandom.Derive(Seed, epoch, Sampler.Rank, 0x574B, id));
            t_worker = info;
            WorkerInit?.Invoke(info);
            for (int b = id; b < batches.Count && !token.IsCancellationRequested; b += workers)
            {
                var r = new Result();
                try
                {
                    r.Batch = Build(epoch, b, batches[b], token);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    r.Error = ExceptionDispatchInfo.Capture(e);
                }
                try
                {
                    queue.Add(r, token);
                }
                catch (OperationCanceledException)
                {
                    r.Batch?.Dispose();
                    return;
                }
                if (r.Error is not null) return;
            }
        }
        catch (Exception e)
        {
            // WorkerInit failed: hand the error to the consumer at this worker's first batch.
            try
            {
                queue.Add(new Result { Error = ExceptionDispatchInfo.Capture(e) }, token);
            }
            catch (OperationCanceledException)
            {
            }
        }
        finally
        {
            t_worker = null;
            queue.CompleteAdding();
        }
    }

    private Batch? Build(int epoch, int position, int[] indices, CancellationToken token)
    {
        var samples = new List<Sample>(indices.Length);
        var kept = new List<int>(indices.Length);
        try
        {
            for (int k = 0; k < indices.Length; k++)
            {
                token.ThrowIfCancellationRequested();
                var random = new DataRandom(DataRandom.Derive(Seed, epoch, Sampler.Rank, (long)position * BatchSize + k));
                try
                {
                    samples.Add(Dataset.Get(indices[k], random));
                    kept.Add(indices[k]);
                }
                catch (InvalidSampleException e) when (Dataset.InvalidSamples == InvalidSamplePolicy.Skip)
                {
                    Interlocked.Increment(ref _skipped);
                    var message = $"skipped sample {Dataset.GetId(indices[k])} (index {indices[k]}, epoch {epoch}): {e.Message}";
                    if (_skipLog.Count < 1000) _skipLog.Enqueue(message);
                    Dataset.Warn(message);
                }
            }
            if (samples.Count == 0) return null;
            return Collate(samples, kept.ToArray(), epoch, position);
        }
        finally
        {
            foreach (var s in samples) s.Dispose();
        }
    }

    private static Batch Collate(List<Sample> samples, int[] indices, int epoch, int position)
    {
        var first = samples[0];
        var ids = samples.Select(s => s.Id).ToArray();
        bool masks = first.HasMask;
        foreach (var s in samples)
        {
            if (s.HasMask != masks)
                throw new InvalidOperationException($"batch {position}: sample {s.Id} {(s.HasMask ? "has" : "lacks")} a mask but sample {first.Id} does not; a batch cannot mix labelled and unlabelled samples");
            if (s.Width != first.Width || s.Height != first.Height)
                throw new InvalidOperationException(
                    $"batch {position}: sample {s.Id} is {s.Width}x{s.Height} but sample {first.Id} is {first.Width}x{first.Height}; samples of a batch need one size (add a crop or resize, or use batch size 1)");
        }
        if (samples.All(s => s.ImageTensor is not null))
        {
            var images = torch.stack(samples.Select(s => s.ImageTensor!).ToList()).DetachFromDisposeScope();
            var stackedMasks = masks ? torch.stack(samples.Select(s => s.MaskTensor!).ToList()).DetachFromDisposeScope() : null;
            return new Batch(images, stackedMasks, ids, indices, epoch, position);
        }
        var image0 = first.Image;
        int c = image0.Channels, h = image0.Height, w = image0.Width;
        foreach (var s in samples)
            if (s.Image.Channels != c)
                throw new InvalidOperationException($"batch {position}: sample {s.Id} has {s.Image.Channels} channels but sample {first.Id} has {c}");
        long plane = (long)h * w;
        long perImage = c * plane;
        long total = perImage * samples.Count;
        var buffer = Rent(ref t_imageBuffer, total);
        for (int k = 0; k < samples.Count; k++)
            samples[k].Image.CopyToChw(buffer.AsSpan((int)(k * perImage), (int)perImage), samples[k].Normalization);
        var imageTensor = torch.tensor<float>(buffer.AsSpan(0, (int)total), new long[] { samples.Count, c, h, w }).DetachFromDisposeScope();
        torch.Tensor? maskTensor = null;
        if (masks)
        {
            try
            {
                var mbuf = Rent(ref t_maskBuffer, plane * samples.Count);
                for (int k = 0; k < samples.Count; k++)
                    samples[k].Mask!.CopyToInt64(mbuf.AsSpan((int)(k * plane), (int)plane));
                maskTensor = torch.tensor<long>(mbuf.AsSpan(0, (int)(plane * samples.Count)), new long[] { samples.Count, h, w }).DetachFromDisposeScope();
            }
            catch
            {
                imageTensor.Dispose();
                throw;
            }
        }
        return new Batch(imageTensor, maskTensor, ids, indices, epoch, position);
    }

    private static T[] Rent<T>(ref T[]? buffer, long length)
    {
        if (length > Array.MaxLength) throw new InvalidOperationException($"a batch of {length} elements is too large for one buffer");
        if (buffer is null || buffer.Length < length) buffer = GC.AllocateUninitializedArray<T>((int)length);
        return buffer;
    }

    private void ReportEpoch(int epoch, long skippedBefore)
    {
        long n = SkippedSamples - skippedBefore;
        if (n > 0) Dataset.Warn($"epoch {epoch}: {n} unusable sample{(n == 1 ? " was" : "s were")} skipped (see DataLoader.SkipMessages)");
    }
}
