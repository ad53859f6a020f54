using static FastSeg.Torch.torch;

namespace FastSeg.Training;

/// <summary>Decisions that every rank of a run must take the same way, or the ranks would wait on each other forever.</summary>
internal static class RankAgreement
{
    /// <summary>
    /// Whether every rank sees <paramref name="path"/> (each loads it: a resume restores the optimiser and scheduler per
    /// rank). Ranks that disagree would train different epochs and deadlock, so that is an error on all of them.
    /// </summary>
    public static bool AllSee(this IGradientSync sync, string path)
    {
        bool exists = File.Exists(path);
        if (sync.WorldSize == 1) return exists;
        using var count = tensor(new long[] { exists ? 1 : 0 });
        sync.AllReduceSum(count);
        long seen = count.item<long>();
        if (seen != 0 && seen != sync.WorldSize)
            throw new InvalidOperationException($"checkpoint {path} exists for {seen} of {sync.WorldSize} ranks (this is rank {sync.Rank}); " +
                "resuming several processes needs a save_dir (or load_ckpt_path) that every rank can read, or load_ckpt=false");
        return exists;
    }

    /// <summary>Rank 0's value of a flag, on every rank.</summary>
    public static bool AgreeWithMain(this IGradientSync sync, bool mine)
    {
        if (sync.WorldSize == 1) return mine;
        using var flag = tensor(new long[] { sync.Rank == 0 && mine ? 1 : 0 });
        sync.AllReduceSum(flag);
        return flag.item<long>() > 0;
    }
}
