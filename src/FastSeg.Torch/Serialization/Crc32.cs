using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FastSeg.Torch.Serialization;

/// <summary>
/// The CRC-32 of zip archives (reflected polynomial 0xEDB88320). On x86 with carry-less multiplication it folds 64
/// bytes per step (the PCLMULQDQ method of Intel's white paper "Fast CRC Computation for Generic Polynomials Using
/// PCLMULQDQ"), which keeps checksumming tensor data near memory speed; elsewhere, and for the tail, it uses eight
/// lookup tables, eight bytes per step.
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
    public static unsafe uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        if (Pclmulqdq.IsSupported && data.Length >= 64)
        {
            int whole = data.Length & ~15;
            fixed (byte* p = data) crc = UpdateFolding(crc, p, whole);
            data = data[whole..];
        }
        return UpdateTables(crc, data);
    }

    // Folding constants for the reflected polynomial: x^(4*128+32), x^(4*128-32) mod P (4-block fold); x^(128+32),
    // x^(128-32) mod P (1-block fold); x^64 mod P; then P itself and the Barrett constant floor(x^64 / P).
    private static readonly Vector128<ulong> Fold4 = Vector128.Create(0x154442bd4UL, 0x1c6e41596UL);
    private static readonly Vector128<ulong> Fold1 = Vector128.Create(0x1751997d0UL, 0x0ccaa009eUL);
    private static readonly Vector128<ulong> Fold64 = Vector128.Create(0x163cd6124UL, 0UL);
    private static readonly Vector128<ulong> Barrett = Vector128.Create(0x1DB710641UL, 0x1F7011641UL);
    private static readonly Vector128<ulong> Low32 = Vector128.Create(0xFFFFFFFFUL, 0UL);

    private static unsafe Vector128<ulong> Load(byte* p) => Sse2.LoadVector128(p).AsUInt64();

    // (low qword x k.low) xor (high qword x k.high): moves a 128-bit block forward by the distance k encodes.
    private static Vector128<ulong> Fold(Vector128<ulong> x, Vector128<ulong> k) =>
        Pclmulqdq.CarrylessMultiply(x, k, 0x00) ^ Pclmulqdq.CarrylessMultiply(x, k, 0x11);

    /// <summary>The folding path; <paramref name="length"/> is a multiple of 16 and at least 64.</summary>
    private static unsafe uint UpdateFolding(uint crc, byte* p, int length)
    {
        var x1 = Load(p) ^ Vector128.CreateScalar((ulong)crc);
        var x2 = Load(p + 16);
        var x3 = Load(p + 32);
        var x4 = Load(p + 48);
        p += 64;
        length -= 64;
        while (length >= 64)
        {
            x1 = Fold(x1, Fold4) ^ Load(p);
            x2 = Fold(x2, Fold4) ^ Load(p + 16);
            x3 = Fold(x3, Fold4) ^ Load(p + 32);
            x4 = Fold(x4, Fold4) ^ Load(p + 48);
            p += 64;
            length -= 64;
        }
        x1 = Fold(x1, Fold1) ^ x2;
        x1 = Fold(x1, Fold1) ^ x3;
        x1 = Fold(x1, Fold1) ^ x4;
        while (length >= 16)
        {
            x1 = Fold(x1, Fold1) ^ Load(p);
            p += 16;
            length -= 16;
        }

        // 128 bits to 64, then 64 to 32, then the Barrett reduction to the 32-bit remainder.
        x1 = Pclmulqdq.CarrylessMultiply(x1, Fold1, 0x10) ^ Sse2.ShiftRightLogical128BitLane(x1, 8);
        x1 = Pclmulqdq.CarrylessMultiply(x1 & Low32, Fold64, 0x00) ^ Sse2.ShiftRightLogical128BitLane(x1, 4);
        var t = Pclmulqdq.CarrylessMultiply(x1 & Low32, Barrett, 0x10);
        t = Pclmulqdq.CarrylessMultiply(t & Low32, Barrett, 0x00);
        return (t ^ x1).AsUInt32().GetElement(1);
    }

    /// <summary>The table-only path (tests compare the two).</summary>
    internal static uint UpdateTables(uint crc, ReadOnlySpan<byte> data)
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
