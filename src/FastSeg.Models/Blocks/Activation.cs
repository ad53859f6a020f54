using FastSeg.Torch;
using FastSeg.Torch.Modules;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

namespace FastSeg.Models.Blocks;

/// <summary>
/// A named activation, as the reference's <c>Activation</c> wrapper: the function is a child called "activation", so a
/// PReLU's slope appears as <c>….activation.weight</c>. Known names: relu, relu6, leakyrelu, prelu, celu, elu,
/// hardswish, hardtanh, gelu, selu, silu, sigmoid, softmax, tanh, none.
/// </summary>
public sealed class Activation : Module<Tensor, Tensor>
{
    private static readonly string[] Known =
        { "relu", "relu6", "leakyrelu", "prelu", "celu", "elu", "hardswish", "hardtanh", "gelu", "selu", "silu", "sigmoid", "softmax", "tanh", "none" };

    private readonly Module<Tensor, Tensor> activation;

    /// <summary>Every activation name this wrapper accepts.</summary>
    public static IReadOnlyList<string> Names => Known;

    /// <summary>
    /// The values of a network's <c>act_type</c> option (<see cref="Zoo.ModelInfo.ExtraOptions"/>): every known
    /// activation, <paramref name="defaultType"/> first (the zoo takes the first value as the default).
    /// </summary>
    public static string[] OptionValues(string defaultType) =>
        Known.Contains(defaultType) ? Known.Where(k => k != defaultType).Prepend(defaultType).ToArray()
            : throw new ArgumentException($"unsupported activation '{defaultType}'; valid: {string.Join(", ", Known)}", nameof(defaultType));

    /// <summary>Creates the activation <paramref name="type"/>; <paramref name="inplace"/> mirrors PyTorch's flag.</summary>
    public Activation(string type, bool inplace = false) : base(nameof(Activation))
    {
        Type = type.ToLowerInvariant();
        activation = Type switch
        {
            "relu" => ReLU(inplace),
            "relu6" => new Lambda("ReLU6", x => inplace ? functional.hardtanh(x, 0, 6) : functional.relu6(x)),
            "leakyrelu" => LeakyReLU(),
            "prelu" => PReLU(),
            "celu" => new Lambda("CELU", x => functional.elu(x, 1.0)),
            "elu" => ELU(),
            "hardswish" => Hardswish(),
            "hardtanh" => new Lambda("Hardtanh", x => functional.hardtanh(x)),
            "gelu" => GELU(),
            "selu" => SELU(),
            "silu" => SiLU(),
            "sigmoid" => Sigmoid(),
            "softmax" => new Lambda("Softmax", x => functional.softmax(x, x.dim() is 0 or 1 or 3 ? 0 : 1)),
            "tanh" => Tanh(),
            "none" => Identity(),
            _ => throw new ArgumentException($"unsupported activation '{type}'; valid: {string.Join(", ", Known)}", nameof(type)),
        };
        Inplace = inplace;
        RegisterComponents();
    }

    /// <summary>The activation's name.</summary>
    public string Type { get; }

    /// <summary>Whether the reference applies it in place (matters only where the input is used again).</summary>
    public bool Inplace { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (Inplace && Type == "relu") return input.relu_().alias();
        return activation.call(input);
    }
}
