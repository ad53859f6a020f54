namespace FastSeg.Data;

/// <summary>
/// The random source of the data pipeline: xoshiro256** seeded through SplitMix64. Unlike <see cref="Random"/> its
/// sequence is fixed by this code, so a seed gives the same samples on every machine and .NET version. Seeds for
/// samples and workers are derived with <see cref="Derive(long, long[])"/>, which makes a sample's augmentation depend
/// only on (seed, epoch, rank, position), never on which worker thread ran it.
/// </summary>
public sealed class DataRandom
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Creates a generator from a 64-bit seed.</summary>
    public DataRandom(long seed)
    {
        ulong x = (ulong)seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>A generator seeded from the clock and a counter (not reproducible).</summary>
    public static DataRandom CreateUnseeded() =>
        new(Derive(Environment.TickCount64, Interlocked.Increment(ref s_unseeded), Environment.CurrentManagedThreadId));

    private static long s_unseeded;

    /// <summary>Mixes a seed with further values into a new, well-spread seed (order matters).</summary>
    public static long Derive(long seed, params long[] values)
    {
        ulong h = (ulong)seed ^ 0x6A09E667F3BCC909UL;
        ulong state = h;
        h = SplitMix(ref state);
        foreach (var v in values)
        {
            state = h ^ ((ulong)v * 0x9E3779B97F4A7C15UL);
            h = SplitMix(ref state);
        }
        return (long)h;
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    /// <summary>Uniform in [0, 1), 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [<paramref name="low"/>, <paramref name="high"/>].</summary>
    public double Uniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>Uniform integer in [0, <paramref name="maxExclusive"/>).</summary>
    public int Next(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "must be positive");
        // Lemire's multiply-shift with rejection: unbiased.
        ulong range = (ulong)maxExclusive;
        while (true)
        {
            ulong x = NextUInt64() >> 32;
            ulong m = x * range;
            ulong low = m & 0xFFFFFFFFUL;
            if (low >= range || low >= ((0x1_0000_0000UL - range) % range)) return (int)(m >> 32);
        }
    }

    /// <summary>Uniform integer in [<paramref name="min"/>, <paramref name="maxInclusive"/>].</summary>
    public int NextInclusive(int min, int maxInclusive)
    {
        if (maxInclusive < min) throw new ArgumentOutOfRangeException(nameof(maxInclusive), "max is below min");
        return min + Next(maxInclusive - min + 1);
    }

    /// <summary>True with probability <paramref name="p"/> (one draw, even when p is 0 or 1, so sequences stay aligned).</summary>
    public bool Chance(double p) => NextDouble() < p;

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A random permutation of 0..n-1.</summary>
    public int[] Permutation(int n)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        Shuffle<int>(p);
        return p;
    }
}
