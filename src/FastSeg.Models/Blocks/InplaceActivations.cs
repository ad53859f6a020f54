namespace FastSeg.Models.Blocks;

/// <summary>
/// The activations whose PyTorch module takes an <c>inplace</c> argument. Some reference networks (ESNet, FDDWNet)
/// build <c>Activation(act_type, inplace=True)</c>, so with any other act_type (prelu, gelu, sigmoid, softmax, tanh)
/// the reference constructor fails; such networks offer only these values.
/// </summary>
public static class InplaceActivations
{
    private static readonly HashSet<string> Accepting =
        new() { "relu", "relu6", "leakyrelu", "celu", "elu", "hardswish", "hardtanh", "selu", "silu", "none" };

    /// <summary>
    /// The act_type option values of a network whose reference passes <c>inplace=True</c> to its activations:
    /// <see cref="Activation.OptionValues"/> restricted to the activations that accept it, <paramref name="defaultType"/>
    /// first.
    /// </summary>
    public static string[] OptionValues(string defaultType) =>
        Accepting.Contains(defaultType)
            ? Activation.OptionValues(defaultType).Where(Accepting.Contains).ToArray()
            : throw new ArgumentException($"activation '{defaultType}' takes no inplace argument in PyTorch", nameof(defaultType));
}
