using FastSeg.Torch.Distributed;
using static FastSeg.Torch.torch.distributed;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>Multi-device and multi-process wrappers (PyTorch's <c>torch.nn.parallel</c>).</summary>
        public static partial class parallel
        {
            /// <summary>
            /// Data-parallel training over a process group, after PyTorch's <c>DistributedDataParallel</c>: every rank
            /// holds a replica of <see cref="module"/>, starts from rank 0's parameters and buffers (broadcast here),
            /// and each backward pass through a training-mode forward output ends with the gradients averaged over the
            /// ranks (bucketed, see <see cref="DdpGradientSync"/>), so identical optimizer steps keep the replicas equal.
            /// </summary>
            /// <remarks>
            /// <para>Unlike PyTorch's wrapper, this one registers the wrapped module's own submodules, parameters and
            /// buffers under their own names rather than under "module.": <see cref="Module.state_dict"/> of the
            /// wrapper has exactly the keys of the wrapped module, so checkpoints load into an unwrapped model.</para>
            /// <para>The reduction starts when backward has finished, not bucket by bucket during it (no overlap of
            /// communication with computation). Parameters unused on some ranks are handled (zero gradient there);
            /// there is no <c>find_unused_parameters</c> switch to set.</para>
            /// </remarks>
            public sealed class DistributedDataParallel : Module<Tensor, Tensor>
            {
                private readonly DdpGradientSync _sync;

                /// <summary>Wraps <paramref name="module"/>; every rank must call this at the same point.</summary>
                /// <param name="module">The replica on this rank, already on its device.</param>
                /// <param name="process_group">The group to synchronise over (the default group when null).</param>
                /// <param name="broadcast_buffers">Copy rank 0's buffers to every rank before each training forward.</param>
                /// <param name="bucket_cap_mb">Bucket size in MiB for the gradient all-reduce (PyTorch's 25 by default).</param>
                public DistributedDataParallel(Module<Tensor, Tensor> module, ProcessGroup? process_group = null,
                    bool broadcast_buffers = true, double bucket_cap_mb = 25)
                    : base("DistributedDataParallel")
                {
                    ArgumentNullException.ThrowIfNull(module);
                    if (!(bucket_cap_mb > 0)) throw new ArgumentOutOfRangeException(nameof(bucket_cap_mb), bucket_cap_mb, "the bucket size must be positive");
                    this.module = module;
                    this.broadcast_buffers = broadcast_buffers;
                    _sync = new DdpGradientSync(module, process_group, (long)(bucket_cap_mb * 1024 * 1024), broadcastAtStart: true);

                    // Mirror the wrapped module's direct children, parameters and buffers under their own names, so
                    // parameters(), state_dict(), to() and train() of the wrapper see the same objects and keys.
                    var persistent = module.state_dict().Keys.Where(k => !k.Contains('.')).ToHashSet();
                    foreach (var (name, p) in module.named_parameters(recurse: false)) register_parameter(name, p);
                    foreach (var (name, b) in module.named_buffers(recurse: false)) register_buffer(name, b, persistent.Contains(name));
                    foreach (var (name, child) in module.named_children()) register_module(name, child);
                    train(module.training);
                }

                /// <summary>The wrapped module (what to save, evaluate or export).</summary>
                public Module<Tensor, Tensor> module { get; }

                /// <summary>Whether buffers are broadcast from rank 0 before each training forward.</summary>
                public bool broadcast_buffers { get; }

                /// <summary>Whether the next training backward averages gradients (false inside <see cref="no_sync"/>).</summary>
                public bool require_backward_grad_sync { get; set; } = true;

                /// <summary>The gradient synchroniser (bucket size, explicit reduction, last error).</summary>
                public DdpGradientSync GradientSync => _sync;

                /// <summary>The process group the replicas synchronise over.</summary>
                public ProcessGroup process_group => _sync.Group;

                /// <summary>
                /// Runs the wrapped module. When grad is enabled (a training step, whatever <see cref="Module.training"/>
                /// says, as in PyTorch), rank 0's buffers are broadcast first (with <see cref="broadcast_buffers"/>) and
                /// the output is armed so that the backward pass through it ends with averaged gradients.
                /// </summary>
                public override Tensor forward(Tensor input)
                {
                    bool grad = is_grad_enabled();
                    if (grad && broadcast_buffers && _sync.Group.Size > 1) _sync.BroadcastBuffers();
                    var output = module.forward(input);
                    if (grad && require_backward_grad_sync && output.requires_grad) _sync.PrepareForBackward(output);
                    return output;
                }

                /// <summary>
                /// Skips the gradient averaging of backward passes until disposed, for gradient accumulation: the
                /// gradients of the last micro-batch, run outside the scope, are averaged together with the
                /// accumulated ones.
                /// </summary>
                public IDisposable no_sync()
                {
                    bool previous = require_backward_grad_sync;
                    require_backward_grad_sync = false;
                    return new Restore(() => require_backward_grad_sync = previous);
                }

                /// <summary>Averages the gradients now (for code that runs backward without a forward through this wrapper).</summary>
                public void sync_gradients() => _sync.AllReduceGradients();

                /// <inheritdoc/>
                public override Module train(bool mode = true)
                {
                    base.train(mode);
                    module.train(mode);
                    return this;
                }

                /// <inheritdoc/>
                protected override void Dispose(bool disposing)
                {
                    base.Dispose(disposing);
                    if (disposing) module.Dispose();
                }

                private sealed class Restore(Action action) : IDisposable
                {
                    private Action? _action = action;

                    public void Dispose()
                    {
                        _action?.Invoke();
                        _action = null;
                    }
                }
            }
        }
    }
}
