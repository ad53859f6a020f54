namespace FastSeg.Models.Blocks;

/// <summary>
/// The activations that the reference can build with <c>inplace=True</c>. Where a reference network passes
/// <c>inplace=True</c> together with its <c>act_type</c> (CANet, FANet), PyTorch's PReLU, GELU, GLU, Sigmoid,
/// Softmax and Tanh reject the keyword, so those networks cannot be built with them; their <c>act_type</c> option
/// offers only the names listed here.
/// </summary>
public static class InplaceActivations
{
    private static readonly string[] Accepting =
        { "relu", "relu6", "leakyrelu", "celu", "elu", "hardswish", "hardtanh", "selu", "silu", "none" };

    /// <summary>The activation names whose PyTorch module takes an <c>inplace</c> argument (nn.Identity ignores it).</summary>
    public static IReadOnlyList<string> Names => Accepting;

    /// <summary>
    /// The values of an <c>act_type</c> option restricted to <see cref="Names"/>, <paramref name="defaultType"/> first
    /// (the zoo takes the first value as the default).
    /// </summary>
    public static string[] OptionValues(string defaultType) =>
        Accepting.Contains(defaultType)
            ? Accepting.Where(a => a != defaultType).Prepend(defaultType).ToArray()
            : throw new ArgumentException($"'{defaultType}' cannot be built in place; valid: {string.Join(", ", Accepting)}", nameof(defaultType));
}
