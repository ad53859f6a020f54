using static FastSeg.Torch.torch;

namespace FastSeg.Models;

/// <summary>
/// What a segmentation network computes: the logits (N, classes, H, W) at input resolution and, in training mode with
/// auxiliary or detail heads enabled, those heads' outputs (at their own feature resolution, as the reference
/// returns them). The caller owns every tensor in it.
/// </summary>
public sealed class SegmentationOutput : IDisposable
{
    /// <summary>Creates an output.</summary>
    public SegmentationOutput(Tensor logits, IReadOnlyList<Tensor>? aux = null, Tensor? detail = null)
    {
        Logits = logits;
        Aux = aux ?? Array.Empty<Tensor>();
        Detail = detail;
    }

    /// <summary>Class scores at input resolution.</summary>
    public Tensor Logits { get; }

    /// <summary>Auxiliary heads' logits (empty unless enabled and training).</summary>
    public IReadOnlyList<Tensor> Aux { get; }

    /// <summary>The STDC detail head's output (null unless enabled and training).</summary>
    public Tensor? Detail { get; }

    /// <summary>Disposes the auxiliary and detail outputs, keeping the logits.</summary>
    public void DisposeExtras()
    {
        foreach (var a in Aux) a.Dispose();
        Detail?.Dispose();
    }

    /// <summary>Disposes every tensor.</summary>
    public void Dispose()
    {
        Logits.Dispose();
        DisposeExtras();
    }
}

/// <summary>
/// Base of every zoo network. <see cref="forward"/> returns the logits; <see cref="ForwardAll"/> also returns the
/// auxiliary/detail outputs when they are enabled and the model is in training mode. Inputs are checked first, so a
/// bad size is a clear exception rather than a shape error deep inside the network.
/// </summary>
public abstract class SegmentationModel : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates a model.</summary>
    /// <param name="name">The type name (the class name in the reference).</param>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="inputMultiple">Height and width must be multiples of this.</param>
    /// <param name="inputChannels">Input image channels.</param>
    protected SegmentationModel(string name, int numClasses, int inputMultiple, int inputChannels = 3) : base(name)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "a model needs at least one class");
        NumClasses = numClasses;
        InputMultiple = inputMultiple;
        InputChannels = inputChannels;
    }

    /// <summary>Output classes.</summary>
    public int NumClasses { get; }

    /// <summary>Input height and width must be multiples of this (1 = any size).</summary>
    public int InputMultiple { get; }

    /// <summary>Input channels.</summary>
    public int InputChannels { get; }

    /// <summary>The zoo's description of this network, when it was built through <see cref="Zoo.ModelZoo"/>.</summary>
    public Zoo.ModelInfo? Info { get; internal set; }

    /// <summary>The options it was built with, when built through the zoo.</summary>
    public Zoo.ModelOptions? Options { get; internal set; }

    /// <summary>Logits (N, classes, H, W) at input resolution.</summary>
    public override Tensor forward(Tensor input)
    {
        var output = ForwardAll(input);
        output.DisposeExtras();
        return output.Logits;
    }

    /// <summary>Logits plus, in training mode with the heads enabled, the auxiliary and detail outputs.</summary>
    public SegmentationOutput ForwardAll(Tensor input)
    {
        CheckInput(input);
        return Compute(input);
    }

    /// <summary>The network's computation; <paramref name="input"/> has already been checked.</summary>
    protected abstract SegmentationOutput Compute(Tensor input);

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the network when the input is not a floating-point
    /// (N, channels, H, W) tensor with H and W positive multiples of <see cref="InputMultiple"/>.
    /// </summary>
    public void CheckInput(Tensor input)
    {
        var shape = input.shape;
        if (shape.Length != 4 || shape[1] != InputChannels)
            throw new ArgumentException($"{Name} expects an input of shape (N, {InputChannels}, H, W), got [{string.Join(", ", shape)}]", nameof(input));
        if (shape[2] < 1 || shape[3] < 1)
            throw new ArgumentException($"{Name} needs an input of at least 1x1 pixels (and multiples of {InputMultiple}), got {shape[2]}x{shape[3]}", nameof(input));
        if (!is_floating_point(input.dtype))
            throw new ArgumentException($"{Name} takes float images (float32, or float64/bfloat16/float16 with the weights in that type), got a tensor of {input.dtype}; " +
                                        "convert it with .to(ScalarType.Float32)", nameof(input));
        if (shape[2] % InputMultiple != 0 || shape[3] % InputMultiple != 0)
            throw new ArgumentException(
                $"{Name} needs the input height and width to be multiples of {InputMultiple}, got {shape[2]}x{shape[3]} " +
                $"(for example {RoundUp(shape[2])}x{RoundUp(shape[3])})", nameof(input));
    }

    private long RoundUp(long v) => (v + InputMultiple - 1) / InputMultiple * InputMultiple;

    /// <summary>
    /// Loads a PyTorch state dict (.pth written by <c>torch.save(model.state_dict())</c> in Python or by
    /// <see cref="SaveWeights"/>), or a checkpoint holding the weights under "state_dict" or "model" (as the trainers
    /// write them), read by the one checkpoint reader, <see cref="Inference.ModelCheckpoint"/> (a DataParallel
    /// <c>module.</c> prefix is removed). Strict loading throws one <see cref="Inference.CheckpointMismatchException"/>
    /// naming the file and the missing, unexpected or mis-shaped keys; non-strict loading returns them. The training
    /// or evaluation mode is left as it was.
    /// </summary>
    public (IList<string> missing_keys, IList<string> unexpected_keys) LoadWeights(string path, bool strict = true)
    {
        using var checkpoint = Inference.ModelCheckpoint.Read(path);
        if (!strict) return load_state_dict(checkpoint.StateDict.ToDictionary(kv => kv.Key, kv => kv.Value), strict: false);
        bool wasTraining = training;
        checkpoint.LoadInto(this);
        if (wasTraining) train();
        return (new List<string>(), new List<string>());
    }

    /// <summary>
    /// The evaluation-only inference form of this network: a copy with batch norms folded into their convolutions,
    /// weights converted once to the chosen precision (bfloat16 on CPUs with native bfloat16 by default) and to
    /// channels-last, run in inference mode. This network is left as it is. See <see cref="Inference.InferenceModel"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The network was not built through <see cref="Zoo.ModelZoo"/>.</exception>
    public Inference.InferenceModel ForInference(Inference.InferenceOptions? options = null) =>
        Inference.InferenceModel.Create(this, options);

    /// <summary>Writes the state dict as a PyTorch .pth file (atomically), loadable by Python's <c>torch.load</c>.</summary>
    public void SaveWeights(string path) => save(state_dict(), path);
}
