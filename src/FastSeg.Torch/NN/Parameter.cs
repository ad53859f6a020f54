using FastSeg.Torch.Interop;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// A tensor that is a learnable parameter of a module: a leaf that requires grad by default. Parameters belong
        /// to their module, not to a dispose scope: they are freed when the module is disposed.
        /// </summary>
        public class Parameter : Tensor
        {
            /// <summary>Wraps the data of <paramref name="data"/> (shared, detached from its history) as a parameter.</summary>
            public Parameter(Tensor data, bool requires_grad = true) : base(DetachedHandle(data))
            {
                DetachFromDisposeScope();
                this.requires_grad = requires_grad;
            }

            private static IntPtr DetachedHandle(Tensor data)
            {
                ArgumentNullException.ThrowIfNull(data);
                var c = new OpCall(Aten.detach);
                c.Tensor(data);
                var results = c.Invoke();
                var handle = results[0].Ptr;
                return handle;
            }
        }
    }
}
