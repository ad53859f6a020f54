namespace FastSeg.Torch.Serialization;

/// <summary>
/// The CRC-32 of zip archives (reflected polynomial 0xEDB88320), computed eight bytes per step with eight lookup
/// tables so that checksumming tensor data runs at memory speed rather than byte-at-a-time.
/// </summary>
internal static class Crc32
{
    private const uint Polynomial = 0xEDB88320u;

    // Table k maps a byte that is k positions further from the end of an 8-byte step to its contribution.
    private static readonly uint[][] Tables = BuildTables();

    private static uint[][] BuildTables()
    {
        var tables = new uint[8][];
        for (int k = 0; k < 8; k++) tables[k] = new uint[256];
        for (uint b = 0; b < 256; b++)
        {
            uint c = b;
            for (int bit = 0; bit < 8; bit++) c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            tables[0][b] = c;
        }
        for (int k = 1; k < 8; k++)
            for (int b = 0; b < 256; b++)
            {
                uint previous = tables[k - 1][b];
                tables[k][b] = (previous >> 8) ^ tables[0][previous & 0xFF];
            }
        return tables;
    }

    /// <summary>The running value before any byte (feed it to <see cref="Update"/>, finish with <see cref="Finish"/>).</summary>
    public const uint Start = 0xFFFFFFFFu;

    /// <summary>Folds <paramref name="data"/> into the running value <paramref name="crc"/>.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        uint[] t0 = Tables[0], t1 = Tables[1], t2 = Tables[2], t3 = Tables[3];
        uint[] t4 = Tables[4], t5 = Tables[5], t6 = Tables[6], t7 = Tables[7];
        int i = 0;
        int whole = data.Length & ~7;
        while (i < whole)
        {
            uint low = crc ^ (uint)(data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24);
            uint high = (uint)(data[i + 4] | data[i + 5] << 8 | data[i + 6] << 16 | data[i + 7] << 24);
            crc = t7[low & 0xFF] ^ t6[(low >> 8) & 0xFF] ^ t5[(low >> 16) & 0xFF] ^ t4[low >> 24] ^
                  t3[high & 0xFF] ^ t2[(high >> 8) & 0xFF] ^ t1[(high >> 16) & 0xFF] ^ t0[high >> 24];
            i += 8;
        }
        for (; i < data.Length; i++) crc = (crc >> 8) ^ t0[(crc ^ data[i]) & 0xFF];
        return crc;
    }

    /// <summary>The checksum of a running value.</summary>
    public static uint Finish(uint crc) => ~crc;

    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Update(Start, data));
}
