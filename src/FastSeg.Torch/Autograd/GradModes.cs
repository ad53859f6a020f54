using FastSeg.Torch.Interop;

namespace FastSeg.Torch;

/// <summary>
/// A thread-local grad-mode setting that lasts until disposed (<c>using (torch.no_grad()) { ... }</c>), then restores
/// the previous setting. Grad mode, like libtorch's, is per thread.
/// </summary>
public sealed class GradModeScope : IDisposable
{
    private readonly bool _previous;
    private bool _disposed;

    internal GradModeScope(bool enabled)
    {
        Native.Check(NativeMethods.fs_grad_mode(enabled ? 1 : 0, out var previous));
        _previous = previous != 0;
    }

    /// <summary>Restores the grad mode that was in force before this scope.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Native.Check(NativeMethods.fs_grad_mode(_previous ? 1 : 0, out _));
    }
}

/// <summary>
/// libtorch's inference mode for the life of the scope: no autograd recording and no version counting, cheaper than
/// <c>no_grad</c>. Tensors made inside cannot later take part in autograd.
/// </summary>
public sealed class InferenceModeScope : IDisposable
{
    private IntPtr _guard;

    internal InferenceModeScope(bool enabled) => Native.Check(NativeMethods.fs_inference_mode_enter(enabled ? 1 : 0, out _guard));

    /// <summary>Leaves inference mode (scopes must end in reverse order, on the thread that opened them).</summary>
    public void Dispose()
    {
        if (_guard == IntPtr.Zero) return;
        var guard = _guard;
        _guard = IntPtr.Zero;
        Native.Check(NativeMethods.fs_inference_mode_exit(guard));
    }
}

/// <summary>
/// Automatic mixed precision for the life of the scope: eligible operators (convolutions, matmuls) run in a lower
/// precision — bfloat16 on the CPU, float16 by default on CUDA — while precision-sensitive ones stay in float32.
/// </summary>
public sealed class AutocastMode : IDisposable
{
    private readonly int _deviceType;
    private readonly bool _previousEnabled;
    private readonly int _previousDtype;
    private bool _disposed;

    internal AutocastMode(DeviceType deviceType, torch.ScalarType? dtype, bool enabled)
    {
        _deviceType = (int)deviceType;
        var type = dtype ?? (deviceType == DeviceType.CPU ? torch.ScalarType.BFloat16 : torch.ScalarType.Float16);
        Native.Check(NativeMethods.fs_autocast_get(_deviceType, out var prevEnabled, out _previousDtype));
        _previousEnabled = prevEnabled != 0;
        Native.Check(NativeMethods.fs_autocast_set(_deviceType, enabled ? 1 : 0, (int)type));
        Native.Check(NativeMethods.fs_autocast_nesting(1, out _));
    }

    /// <summary>Restores the previous autocast state; leaving the outermost scope clears the cast-weight cache.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Native.Check(NativeMethods.fs_autocast_nesting(-1, out _));
        Native.Check(NativeMethods.fs_autocast_set(_deviceType, _previousEnabled ? 1 : 0, _previousDtype));
    }
}

public static partial class torch
{
    /// <summary>Disables gradient recording on this thread until the scope is disposed.</summary>
    public static GradModeScope no_grad() => new(false);

    /// <summary>Enables gradient recording on this thread until the scope is disposed.</summary>
    public static GradModeScope enable_grad() => new(true);

    /// <summary>Sets gradient recording on this thread until the scope is disposed.</summary>
    public static GradModeScope set_grad_enabled(bool enabled) => new(enabled);

    /// <summary>Whether gradient recording is on for this thread.</summary>
    public static bool is_grad_enabled()
    {
        Native.Check(NativeMethods.fs_grad_mode_get(out var e));
        return e != 0;
    }

    /// <summary>Enters libtorch's inference mode on this thread until the scope is disposed.</summary>
    public static InferenceModeScope inference_mode(bool mode = true) => new(mode);

    /// <summary>Whether inference mode is on for this thread.</summary>
    public static bool is_inference_mode_enabled()
    {
        Native.Check(NativeMethods.fs_inference_mode_get(out var e));
        return e != 0;
    }

    /// <summary>Mixed precision on <paramref name="device_type"/> until the scope is disposed (bfloat16 on the CPU).</summary>
    public static AutocastMode autocast(DeviceType device_type, ScalarType? dtype = null, bool enabled = true) =>
        new(device_type, dtype, enabled);

    /// <summary>Mixed precision on the device named by <paramref name="device"/> ("cpu" or "cuda").</summary>
    public static AutocastMode autocast(string device, ScalarType? dtype = null, bool enabled = true) =>
        new(new Device(device).type, dtype, enabled);

    /// <summary>Whether autocast is on for <paramref name="device_type"/> on this thread.</summary>
    public static bool is_autocast_enabled(DeviceType device_type = DeviceType.CUDA)
    {
        Native.Check(NativeMethods.fs_autocast_get((int)device_type, out var e, out _));
        return e != 0;
    }
}
