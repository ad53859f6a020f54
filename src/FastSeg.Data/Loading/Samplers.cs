namespace FastSeg.Data;

/// <summary>Chooses the order of dataset indices for each epoch.</summary>
public abstract class Sampler
{
    /// <summary>The indices of epoch <paramref name="epoch"/>, in order.</summary>
    public abstract int[] Indices(int epoch);

    /// <summary>How many indices each epoch yields.</summary>
    public abstract int Count { get; }

    /// <summary>The rank this sampler serves (0 unless distributed); mixed into the augmentation seeds.</summary>
    public virtual int Rank => 0;
}

/// <summary>0, 1, ..., n-1 every epoch.</summary>
public sealed class SequentialSampler : Sampler
{
    private readonly int _n;

    /// <summary>Creates the sampler over <paramref name="count"/> samples.</summary>
    public SequentialSampler(int count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        _n = count;
    }

    /// <inheritdoc />
    public override int Count => _n;

    /// <inheritdoc />
    public override int[] Indices(int epoch) => Enumerable.Range(0, _n).ToArray();
}

/// <summary>A new permutation every epoch, fixed by (seed, epoch).</summary>
public sealed class RandomSampler : Sampler
{
    private readonly int _n;
    private readonly long _seed;

    /// <summary>Creates the sampler.</summary>
    public RandomSampler(int count, long seed = 0)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        _n = count;
        _seed = seed;
    }

    /// <inheritdoc />
    public override int Count => _n;

    /// <inheritdoc />
    public override int[] Indices(int epoch) => new DataRandom(DataRandom.Derive(_seed, epoch, 0x5A4D)).Permutation(_n);
}

/// <summary>
/// PyTorch's DistributedSampler: each of <see cref="NumReplicas"/> ranks gets an equal share of every epoch. The
/// (optionally shuffled, by seed + epoch) order is padded by repeating its start until it divides evenly (or, with
/// drop_last, cut to a multiple), and rank r takes positions r, r + R, r + 2R, ... All ranks must use the same seed
/// and epoch. Shards are disjoint except for the padding repeats, and together cover every sample.
/// </summary>
public sealed class DistributedSampler : Sampler
{
    private readonly int _n;

    /// <summary>Creates the sampler.</summary>
    public DistributedSampler(int datasetCount, int numReplicas, int rank, bool shuffle = true, long seed = 0, bool dropLast = false)
    {
        if (datasetCount < 0) throw new ArgumentOutOfRangeException(nameof(datasetCount));
        if (numReplicas < 1) throw new ArgumentOutOfRangeException(nameof(numReplicas), numReplicas, "must be at least 1");
        if (rank < 0 || rank >= numReplicas)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"invalid rank {rank}, rank should be in the interval [0, {numReplicas - 1}]");
        _n = datasetCount;
        NumReplicas = numReplicas;
        RankIndex = rank;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        NumSamples = dropLast && datasetCount % numReplicas != 0
            ? (int)Math.Ceiling((datasetCount - numReplicas) / (double)numReplicas)
            : (int)Math.Ceiling(datasetCount / (double)numReplicas);
        TotalSize = NumSamples * numReplicas;
    }

    /// <summary>Number of ranks.</summary>
    public int NumReplicas { get; }

    /// <summary>This rank.</summary>
    public int RankIndex { get; }

    /// <inheritdoc />
    public override int Rank => RankIndex;

    /// <summary>Whether each epoch is shuffled.</summary>
    public bool Shuffle { get; }

    /// <summary>The shuffle seed (shared by all ranks).</summary>
    public long Seed { get; }

    /// <summary>Whether the tail is dropped instead of padded.</summary>
    public bool DropLast { get; }

    /// <summary>Samples per rank per epoch.</summary>
    public int NumSamples { get; }

    /// <summary>Samples per epoch over all ranks (with padding).</summary>
    public int TotalSize { get; }

    /// <inheritdoc />
    public override int Count => NumSamples;

    /// <inheritdoc />
    public override int[] Indices(int epoch)
    {
        var order = Shuffle
            ? new DataRandom(DataRandom.Derive(Seed, epoch, 0x0D15)).Permutation(_n)
            : Enumerable.Range(0, _n).ToArray();
        var all = new int[TotalSize];
        if (TotalSize <= _n)
        {
            Array.Copy(order, all, TotalSize);
        }
        else
        {
            Array.Copy(order, all, _n);
            for (int k = _n; k < TotalSize; k++) all[k] = order[(k - _n) % Math.Max(_n, 1)];
        }
        var mine = new int[NumSamples];
        for (int k = 0; k < NumSamples; k++) mine[k] = all[RankIndex + k * NumReplicas];
        return mine;
    }
}
