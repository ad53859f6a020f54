namespace FastSeg.Training;

internal static class ShapeText
{
    /// <summary>A shape as "[2, 19, 64, 64]" for error messages.</summary>
    public static string Of(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
