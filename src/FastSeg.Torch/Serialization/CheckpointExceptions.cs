namespace FastSeg.Torch;

/// <summary>
/// A checkpoint file could not be read: it is truncated, corrupt, not a PyTorch checkpoint, or holds something that
/// FastSeg's value model cannot represent. The message starts with the file's path and says what is wrong.
/// </summary>
public class CheckpointFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="path"/>; the message is prefixed with the path.</summary>
    public CheckpointFormatException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        FilePath = path;
        Problem = problem;
    }

    /// <summary>The checkpoint file.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong, without the path.</summary>
    public string Problem { get; }
}

/// <summary>
/// A checkpoint's pickle names a Python global that the safe unpickler does not honour (for example
/// <c>posix.system</c> or <c>builtins.eval</c>). Nothing from the file was executed; the file is refused.
/// </summary>
public sealed class UnsafeCheckpointException : CheckpointFormatException
{
    /// <summary>Creates the exception for the global <paramref name="module"/>.<paramref name="name"/>.</summary>
    public UnsafeCheckpointException(string path, string module, string name)
        : base(path, $"the pickle refers to the Python global '{module}.{name}', which is not on the safe list of " +
                     "torch.load (plain containers, numbers, strings and tensors only); nothing was executed")
    {
        GlobalModule = module;
        GlobalName = name;
    }

    /// <summary>The module of the refused global, e.g. <c>posix</c>.</summary>
    public string GlobalModule { get; }

    /// <summary>The name of the refused global, e.g. <c>system</c>.</summary>
    public string GlobalName { get; }
}
