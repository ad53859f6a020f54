using FastSeg.Torch.Interop;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class distributed
    {
        /// <summary>
        /// The sum of <paramref name="tensor"/> over the ranks of <paramref name="group"/> (default group when null), as a
        /// new tensor with autograd history (PyTorch's <c>torch.distributed.nn.functional.all_reduce</c>): its backward
        /// pass sums the output's gradients over the ranks into the input's gradient, because every rank's output
        /// depends on every rank's input. Every rank must call it in the same order, and run the backward pass through
        /// it, or the others wait for the group's timeout.
        /// </summary>
        public static Tensor differentiable_all_reduce(Tensor tensor, ProcessGroup? group = null)
        {
            ArgumentNullException.ThrowIfNull(tensor);
            var g = Group(group);
            IntPtr result = IntPtr.Zero;
            var input = tensor.NativeHandle;
            g.Run(pg => NativeMethods.fs_dist_all_reduce_autograd(pg, input, out result));
            GC.KeepAlive(tensor);
            return new Tensor(result);
        }
    }
}
