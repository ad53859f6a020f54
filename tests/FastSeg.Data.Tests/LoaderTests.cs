using System.Diagnostics;
using Xunit;

namespace FastSeg.Data.Tests;

[Collection("cityscapes")]
public class LoaderTests
{
    private readonly CityscapesFixture _data;

    public LoaderTests(CityscapesFixture data) => _data = data;

    private CityscapesDataset Train(Transform? transform = null) =>
        new(_data.Root, "train") { Transform = transform ?? TrainPipeline() };

    private static Compose TrainPipeline() => new(
        new RandomScale(0.5, 2.0, probability: 1.0),
        new PadIfNeeded(48, 64, BorderMode.Constant),
        new RandomCrop(48, 64),
        new ColorJitter(0.5, 0.5, 0.5, 0.2),
        new HorizontalFlip(0.5),
        new Normalize());

    private static List<(float[] images, long[] masks, string[] ids)> Collect(DataLoader loader, CancellationToken token = default)
    {
        var result = new List<(float[], long[], string[])>();
        foreach (var b in loader.GetBatches(token))
            using (b)
                result.Add((b.Images.ToArray<float>(), b.Masks!.ToArray<long>(), b.Ids.ToArray()));
        return result;
    }

    [Fact]
    public void BatchesHaveTheExpectedShapesAndTypes()
    {
        var loader = new DataLoader(Train(), batchSize: 3);
        Assert.Equal(3, loader.Count);
        var batches = loader.ToList();
        Assert.Equal(new[] { 3, 3, 2 }, batches.Select(b => b.Count));
        var b0 = batches[0];
        Assert.Equal(new long[] { 3, 3, 48, 64 }, b0.Images.shape);
        Assert.Equal(FastSeg.Torch.torch.ScalarType.Float32, b0.Images.dtype);
        Assert.Equal(new long[] { 3, 48, 64 }, b0.Masks!.shape);
        Assert.Equal(FastSeg.Torch.torch.ScalarType.Int64, b0.Masks.dtype);
        var labels = b0.Masks.ToArray<long>().Distinct().ToHashSet();
        Assert.All(labels, v => Assert.True(v is >= 0 and < 19 or 255, $"label {v}"));
        Assert.Equal(new[] { 0, 1, 2 }, b0.Indices);
        // Normalised with ImageNet statistics: values span roughly [-2.2, 2.7].
        var pixels = b0.Images.ToArray<float>();
        Assert.InRange(pixels.Min(), -2.2f, 0f);
        Assert.InRange(pixels.Max(), 0f, 2.7f);
        foreach (var b in batches) b.Dispose();

        var dropped = new DataLoader(Train(), batchSize: 3, dropLast: true);
        Assert.Equal(2, dropped.Count);
        var counts = dropped.Select(b => { b.Dispose(); return b.Count; }).ToList();
        Assert.Equal(new[] { 3, 3 }, counts);
    }

    [Fact]
    public void WorkersProduceTheSameBatchesAsTheCallingThread()
    {
        var inline = Collect(new DataLoader(Train(), batchSize: 2, shuffle: true, seed: 11));
        var threaded = Collect(new DataLoader(Train(), batchSize: 2, shuffle: true, seed: 11, numWorkers: 2));
        var three = Collect(new DataLoader(Train(), batchSize: 2, shuffle: true, seed: 11, numWorkers: 3, prefetchFactor: 1));
        Assert.Equal(inline.Count, threaded.Count);
        for (int k = 0; k < inline.Count; k++)
        {
            Assert.Equal(inline[k].ids, threaded[k].ids);
            Assert.Equal(inline[k].images, threaded[k].images);
            Assert.Equal(inline[k].masks, threaded[k].masks);
            Assert.Equal(inline[k].images, three[k].images);
        }
        var other = Collect(new DataLoader(Train(), batchSize: 2, shuffle: true, seed: 12));
        Assert.NotEqual(inline.SelectMany(b => b.ids), other.SelectMany(b => b.ids));
    }

    [Fact]
    public void ShuffleCoversEverySampleAndChangesEachEpoch()
    {
        var loader = new DataLoader(Train(new Compose(new CenterCrop(32, 32))), batchSize: 3, shuffle: true, seed: 5);
        var e0 = Collect(loader).SelectMany(b => b.ids).ToList();
        var e1 = Collect(loader).SelectMany(b => b.ids).ToList();
        Assert.Equal(2, loader.Epoch);
        Assert.Equal(8, e0.Distinct().Count());
        Assert.Equal(e0.OrderBy(x => x), e1.OrderBy(x => x));
        Assert.NotEqual(e0, e1);
        loader.SetEpoch(0);
        Assert.Equal(e0, Collect(loader).SelectMany(b => b.ids));
        var ordered = new DataLoader(Train(new Compose(new CenterCrop(32, 32))), batchSize: 8);
        Assert.Equal(Enumerable.Range(0, 8).Select(ordered.Dataset.GetId), Collect(ordered).Single().ids);
    }

    [Theory]
    [InlineData(12, 4, false)]
    [InlineData(13, 4, false)]
    [InlineData(13, 4, true)]
    [InlineData(3, 5, false)]
    public void DistributedShardsAreEqualDisjointAndCoverTheSet(int n, int ranks, bool dropLast)
    {
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var shards = Enumerable.Range(0, ranks).Select(r => new DistributedSampler(n, ranks, r, shuffle: true, seed: 3, dropLast: dropLast).Indices(epoch)).ToList();
            int size = shards[0].Length;
            Assert.All(shards, s => Assert.Equal(size, s.Length));
            var all = shards.SelectMany(s => s).ToList();
            if (dropLast)
            {
                Assert.Equal(n / ranks * ranks, all.Count);
                Assert.Equal(all.Count, all.Distinct().Count());
            }
            else
            {
                Assert.Equal((n + ranks - 1) / ranks, size);
                Assert.Equal(Enumerable.Range(0, n), all.Distinct().OrderBy(x => x));
                // Only the padding repeats samples.
                Assert.Equal(size * ranks - n, all.Count - all.Distinct().Count());
                if (n % ranks == 0)
                    for (int a = 0; a < ranks; a++)
                        for (int b = a + 1; b < ranks; b++) Assert.Empty(shards[a].Intersect(shards[b]));
            }
        }
        var e0 = new DistributedSampler(n, ranks, 0, seed: 3).Indices(0);
        var e1 = new DistributedSampler(n, ranks, 0, seed: 3).Indices(1);
        if (n > 3) Assert.NotEqual(e0, e1);
        var fixedOrder = new DistributedSampler(n, ranks, 1, shuffle: false).Indices(0);
        Assert.Equal(Enumerable.Range(0, fixedOrder.Length).Select(k => (1 + k * ranks) % n), fixedOrder);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedSampler(n, ranks, ranks));
    }

    [Fact]
    public void TheLoaderUsesADistributedSamplersShard()
    {
        var ds = Train();
        var ids = new List<string>();
        for (int rank = 0; rank < 2; rank++)
        {
            var loader = new DataLoader(ds, batchSize: 2, numWorkers: 1, seed: 1, sampler: new DistributedSampler(ds.Count, 2, rank, seed: 9));
            Assert.Equal(2, loader.Count);
            ids.AddRange(Collect(loader).SelectMany(b => b.ids));
        }
        Assert.Equal(8, ids.Distinct().Count());
    }

    [Fact]
    public void CancellationStopsTheWorkersAndFreesPreparedBatches()
    {
        long before = Image.LiveCount;
        using var cts = new CancellationTokenSource();
        var loader = new DataLoader(Train(), batchSize: 1, numWorkers: 2, prefetchFactor: 2);
        int seen = 0;
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (var b in loader.GetBatches(cts.Token))
            {
                b.Dispose();
                if (++seen == 2) cts.Cancel();
            }
        });
        Assert.Equal(2, seen);
        Assert.Equal(before, Image.LiveCount);

        // Leaving the loop early also stops the workers.
        foreach (var b in loader.GetBatches())
        {
            b.Dispose();
            break;
        }
        Assert.Equal(before, Image.LiveCount);

        var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => new DataLoader(Train(), batchSize: 2).GetBatches(cancelled.Token).ToList());
    }

    [Fact]
    public void AWorkerErrorReachesTheConsumerAtItsBatch()
    {
        var ds = Train(new Compose(new Lambda((s, r) =>
        {
            if (s.Index == 5) throw new InvalidOperationException("boom at 5");
        }), new CenterCrop(32, 32)));
        var seen = new List<string>();
        var e = Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var b in new DataLoader(ds, batchSize: 2, numWorkers: 2).GetBatches())
                using (b) seen.AddRange(b.Ids);
        });
        Assert.Equal("boom at 5", e.Message);
        Assert.Equal(4, seen.Count);
    }

    [Fact]
    public void WorkersKnowWhoTheyAre()
    {
        var infos = new System.Collections.Concurrent.ConcurrentBag<WorkerInfo>();
        var ds = Train(new Compose(new Lambda((s, r) => infos.Add(DataLoader.CurrentWorker!)), new CenterCrop(32, 32)));
        var loader = new DataLoader(ds, batchSize: 1, numWorkers: 2, seed: 4);
        var inits = new System.Collections.Concurrent.ConcurrentBag<int>();
        loader.WorkerInit = w => inits.Add(w.Id);
        Collect(loader);
        Assert.Equal(new[] { 0, 1 }, inits.OrderBy(x => x));
        Assert.Equal(new[] { 0, 1 }, infos.Select(i => i.Id).Distinct().OrderBy(x => x));
        Assert.Equal(2, infos.Select(i => i.Seed).Distinct().Count());
        Assert.Null(DataLoader.CurrentWorker);
    }

    [Fact]
    public void BatchesOfUnequalSizesAreAClearError()
    {
        var ds = new CityscapesDataset(_data.Root, "train") { Transform = new Lambda((s, r) => s.Resize(40 + s.Index, 30)) };
        var e = Assert.Throws<InvalidOperationException>(() => new DataLoader(ds, batchSize: 2).ToList());
        Assert.Contains("one size", e.Message);
    }

    [Fact]
    public void ALongLoaderLoopKeepsMemoryFlat()
    {
        var loader = new DataLoader(Train(), batchSize: 4, numWorkers: 2, seed: 2);
        long imagesBefore = Image.LiveCount;
        long managedWarm = 0, nativeWarm = 0;
        int batches = 0;
        for (int epoch = 0; epoch < 40; epoch++)
        {
            foreach (var b in loader)
            {
                b.Dispose();
                batches++;
            }
            if (epoch == 9)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                managedWarm = GC.GetTotalMemory(true);
                nativeWarm = Process.GetCurrentProcess().PrivateMemorySize64;
            }
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long managedEnd = GC.GetTotalMemory(true);
        long nativeEnd = Process.GetCurrentProcess().PrivateMemorySize64;
        Assert.Equal(80, batches);
        Assert.Equal(imagesBefore, Image.LiveCount);
        // 60 further batches of 4 x 3 x 48 x 64 floats would leak ~9 MB of tensors and far more of images.
        Assert.True(managedEnd - managedWarm < 4 << 20, $"managed heap grew by {(managedEnd - managedWarm) >> 10} KiB");
        Assert.True(nativeEnd - nativeWarm < 24 << 20, $"private memory grew by {(nativeEnd - nativeWarm) >> 10} KiB");
    }
}
