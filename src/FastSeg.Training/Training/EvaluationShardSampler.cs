using FastSeg.Data;

namespace FastSeg.Training;

/// <summary>
/// Splits an evaluation set over the ranks of a multi-process run in dataset order: rank r takes images r, r + R,
/// r + 2R, ... Unlike <see cref="DistributedSampler"/> nothing is padded, so the shards are disjoint and cover the set
/// exactly once (ranks may get one image more or less than others), and metrics summed over the ranks count every image
/// once. Only for loops without per-batch collectives, since ranks may run different numbers of batches.
/// </summary>
public sealed class EvaluationShardSampler : Sampler
{
    private readonly int _count;

    /// <summary>Creates the shard of <paramref name="rank"/> among <paramref name="worldSize"/> ranks over <paramref name="datasetCount"/> samples.</summary>
    public EvaluationShardSampler(int datasetCount, int worldSize, int rank)
    {
        if (datasetCount < 0) throw new ArgumentOutOfRangeException(nameof(datasetCount), datasetCount, "cannot be negative");
        if (worldSize < 1) throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "must be at least 1");
        if (rank < 0 || rank >= worldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"must be in [0, {worldSize - 1}]");
        _count = datasetCount;
        WorldSize = worldSize;
        RankIndex = rank;
    }

    /// <summary>Number of ranks.</summary>
    public int WorldSize { get; }

    /// <summary>This rank.</summary>
    public int RankIndex { get; }

    /// <inheritdoc />
    public override int Rank => RankIndex;

    /// <inheritdoc />
    public override int Count => _count > RankIndex ? (_count - RankIndex + WorldSize - 1) / WorldSize : 0;

    /// <inheritdoc />
    public override int[] Indices(int epoch)
    {
        var mine = new int[Count];
        for (int k = 0; k < mine.Length; k++) mine[k] = RankIndex + k * WorldSize;
        return mine;
    }
}
