namespace FastSeg.Data;

/// <summary>
/// An image could not be decoded, encoded or processed. The message comes from the native image code and names the
/// file where there is one (for example "x.png: truncated PNG (the IEND chunk that ends the file is missing)").
/// </summary>
public class ImageException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public ImageException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public ImageException(string message, Exception inner) : base(message, inner) { }
}
