using System.Runtime.InteropServices;

namespace FastSeg.Torch;

/// <summary>
/// An error reported by libtorch (or by the native bridge around it). The message is libtorch's own, without its C++
/// backtrace. Derives from <see cref="ExternalException"/>, which is what TorchSharp throws in the same places.
/// </summary>
public class TorchException : ExternalException
{
    /// <summary>Creates the exception with libtorch's message.</summary>
    public TorchException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public TorchException(string message, Exception inner) : base(message, inner) { }
}
