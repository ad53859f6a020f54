namespace FastSeg.Models.Blocks;

/// <summary>
/// The <c>act_type</c> values of networks whose reference creates some activations with PyTorch's <c>inplace=True</c>
/// flag (CANet, ESNet, FANet, FDDWNet, FPENet, MiniNetv2): PReLU, GELU, Sigmoid, Softmax and Tanh do not take that flag, so the reference's
/// constructor fails for them, and 'glu' halves the channels. What remains: relu, relu6, leakyrelu, celu, elu,
/// hardswish, hardtanh, selu, silu and none (PyTorch's Identity ignores the flag).
/// </summary>
public static class InplaceActivations
{
    private static readonly string[] WithoutInplaceFlag = { "prelu", "gelu", "sigmoid", "softmax", "tanh" };

    /// <summary>The values of such a network's <c>act_type</c> option, <paramref name="defaultType"/> first.</summary>
    public static string[] OptionValues(string defaultType) =>
        WithoutInplaceFlag.Contains(defaultType)
            ? throw new ArgumentException($"activation '{defaultType}' does not take an in-place flag", nameof(defaultType))
            : Activation.OptionValues(defaultType).Where(a => !WithoutInplaceFlag.Contains(a)).ToArray();

    /// <summary>Throws when <paramref name="act"/> is not one of <see cref="OptionValues"/> for <paramref name="network"/>.</summary>
    public static void Check(string network, string act)
    {
        var valid = OptionValues("relu");
        if (!valid.Contains(act))
            throw new ArgumentException(
                $"{network}'s reference cannot build activation '{act}' (it passes inplace=True); valid: {string.Join(", ", valid)}", nameof(act));
    }
}
