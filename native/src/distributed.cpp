// Multi-process collectives through c10d: a TCPStore for the rendezvous and a ProcessGroupGloo (CPU) or, in a build
// against a CUDA libtorch with USE_C10D_NCCL, a ProcessGroupNCCL over it. Every collective is waited for before the
// call returns, so a Gloo error or timeout surfaces as FS_ERROR with its message, like any other bridge failure.
//
// Lists of tensors are reduced/broadcast as one flat buffer per dtype (one collective each), which is how the
// gradient buckets of the managed DdpGradientSync travel: one call per bucket, the flattening done here.
#include "common.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/engine.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>

#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace {

constexpr int32_t kBackendGloo = 0;
constexpr int32_t kBackendNccl = 1;

// Mirrors c10d::ReduceOp::RedOpType for the values the managed side exposes.
constexpr int32_t kOpSum = 0;
constexpr int32_t kOpAvg = 1;
constexpr int32_t kOpProduct = 2;
constexpr int32_t kOpMin = 3;
constexpr int32_t kOpMax = 4;

struct ProcessGroupState {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroup> group;
    int32_t backend = kBackendGloo;
    int32_t rank = 0;
    int32_t size = 1;
    std::chrono::milliseconds timeout{0};
};

ProcessGroupState& state_ref(fs_process_group pg) {
    if (pg == nullptr) throw std::invalid_argument("null process group handle");
    return *static_cast<ProcessGroupState*>(pg);
}

const char* backend_name(int32_t backend) { return backend == kBackendNccl ? "nccl" : "gloo"; }

// Waits for `work`; any failure (Gloo IoException, timeout, peer gone) is rethrown with the collective's name, the
// rank and the backend in front of c10d's own message, so the user sees which call on which rank broke.
void wait_for(const ProcessGroupState& s, const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
    try {
        work->wait();
    } catch (const c10::Error& e) {
        throw std::runtime_error(std::string("torch.distributed.") + what + " failed on rank " + std::to_string(s.rank) +
                                 " of " + std::to_string(s.size) + " (" + backend_name(s.backend) +
                                 "): " + e.what_without_backtrace());
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("torch.distributed.") + what + " failed on rank " + std::to_string(s.rank) +
                                 " of " + std::to_string(s.size) + " (" + backend_name(s.backend) + "): " + e.what());
    }
}

std::vector<at::Tensor> tensor_list(const fs_tensor* tensors, int32_t count, const char* what) {
    if (count < 0) throw std::invalid_argument(std::string(what) + ": negative tensor count");
    if (count > 0 && tensors == nullptr) throw std::invalid_argument(std::string(what) + ": null tensor list");
    std::vector<at::Tensor> list;
    list.reserve(static_cast<size_t>(count));
    for (int32_t i = 0; i < count; ++i) {
        const at::Tensor& t = fastseg::tensor_ref(tensors[i]);
        if (!t.defined()) throw std::invalid_argument(std::string(what) + ": tensor " + std::to_string(i) + " is undefined");
        if (t.is_sparse()) throw std::invalid_argument(std::string(what) + ": sparse tensors are not supported");
        list.push_back(t);
    }
    return list;
}

void check_device(const ProcessGroupState& s, const at::Tensor& t, const char* what) {
    if (s.backend == kBackendGloo && !t.is_cpu())
        throw std::invalid_argument(std::string(what) + ": the gloo process group works on CPU tensors, this one lives on " +
                                    t.device().str());
    if (s.backend == kBackendNccl && !t.is_cuda())
        throw std::invalid_argument(std::string(what) + ": the nccl process group works on CUDA tensors, this one lives on " +
                                    t.device().str());
}

c10d::ReduceOp to_reduce_op(int32_t op) {
    switch (op) {
        case kOpSum: return c10d::ReduceOp(c10d::ReduceOp::SUM);
        case kOpAvg: return c10d::ReduceOp(c10d::ReduceOp::AVG);
        case kOpProduct: return c10d::ReduceOp(c10d::ReduceOp::PRODUCT);
        case kOpMin: return c10d::ReduceOp(c10d::ReduceOp::MIN);
        case kOpMax: return c10d::ReduceOp(c10d::ReduceOp::MAX);
        default: throw std::invalid_argument("all_reduce: unknown reduce op " + std::to_string(op));
    }
}

// Reduces one dense buffer in place. Gloo has no AVG: it sums and divides by the world size here.
void all_reduce_dense(ProcessGroupState& s, at::Tensor& buffer, int32_t op) {
    int32_t wire_op = op;
    if (op == kOpAvg) {
        if (!at::isFloatingType(buffer.scalar_type()) && !at::isComplexType(buffer.scalar_type()))
            throw std::invalid_argument(std::string("all_reduce: ReduceOp.AVG needs a floating-point tensor, got ") +
                                        c10::toString(buffer.scalar_type()));
        if (s.backend == kBackendGloo) wire_op = kOpSum;
    }
    std::vector<at::Tensor> list{buffer};
    c10d::AllreduceOptions opts;
    opts.reduceOp = to_reduce_op(wire_op);
    wait_for(s, s.group->allreduce(list, opts), "all_reduce");
    if (op == kOpAvg && wire_op == kOpSum) buffer.div_(s.size);
}

void broadcast_dense(ProcessGroupState& s, at::Tensor& buffer, int32_t root) {
    std::vector<at::Tensor> list{buffer};
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    opts.rootTensor = 0;
    wait_for(s, s.group->broadcast(list, opts), "broadcast");
}

// Runs `collective` on the tensors of `list`: a single contiguous tensor directly, anything else as one flat buffer
// per dtype (in order of first appearance, so every rank builds the same buffers), copied back afterwards. Gradients
// and parameters never need autograd history here.
template <typename Collective>
void run_flattened(ProcessGroupState& s, std::vector<at::Tensor>& list, const char* what, Collective collective) {
    at::NoGradGuard no_grad;
    for (const auto& t : list) check_device(s, t, what);
    if (list.size() == 1 && list[0].is_contiguous()) {
        at::Tensor t = list[0].detach();
        collective(t);
        return;
    }
    std::vector<at::ScalarType> dtypes;
    for (const auto& t : list)
        if (std::find(dtypes.begin(), dtypes.end(), t.scalar_type()) == dtypes.end()) dtypes.push_back(t.scalar_type());
    for (auto dtype : dtypes) {
        std::vector<at::Tensor> members;
        for (const auto& t : list)
            if (t.scalar_type() == dtype) members.push_back(t.detach());
        if (members.size() > 1) {
            auto device = members[0].device();
            for (const auto& t : members)
                if (t.device() != device)
                    throw std::invalid_argument(std::string(what) + ": tensors of one call must share a device, found " +
                                                device.str() + " and " + t.device().str());
        }
        std::vector<at::Tensor> flat_views;
        flat_views.reserve(members.size());
        for (const auto& t : members) flat_views.push_back(t.reshape({-1}));
        at::Tensor flat = members.size() == 1 ? members[0].contiguous().reshape({-1}) : at::cat(flat_views);
        collective(flat);
        int64_t offset = 0;
        for (auto& t : members) {
            const int64_t n = t.numel();
            t.copy_(flat.narrow(0, offset, n).view(t.sizes()));
            offset += n;
        }
    }
}


const char* what_of(const std::exception& e) {
    if (auto* ce = dynamic_cast<const c10::Error*>(&e)) return ce->what_without_backtrace();
    return e.what();
}

// "rank 1" / "ranks 2, 3", with the node of each rank when the ranks per node are known (torchrun's numbering:
// global rank = node rank * ranks per node + local rank).
std::string describe_ranks(const std::vector<int32_t>& ranks, int32_t local_world_size) {
    std::ostringstream out;
    out << (ranks.size() == 1 ? "rank " : "ranks ");
    for (size_t i = 0; i < ranks.size(); ++i) {
        if (i > 0) out << ", ";
        out << ranks[i];
        if (local_world_size > 0) out << " (node " << ranks[i] / local_world_size << ")";
    }
    return out.str();
}

std::string first_line(std::string text) {
    auto end = text.find('\n');
    if (end != std::string::npos) text.resize(end);
    return text;
}

// What rendezvous() throws itself (as opposed to what the store throws under it).
struct RendezvousFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The rendezvous: every rank announces itself under its own key and counts itself in, then waits until all have
// come. On the deadline (or when the store goes away) it fails with the ranks that never came and the address, so a
// node that never starts ends every waiting node with one line instead of a hang. Polling is bounded by the deadline.
void rendezvous(c10d::Store& store, const std::string& where, int32_t rank, int32_t world_size, int32_t local_world_size,
                std::chrono::milliseconds timeout) {
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + timeout;
    const std::string prefix = "fastseg_rendezvous/";
    std::vector<int32_t> missing;
    for (int32_t r = 0; r < world_size; ++r)
        if (r != rank) missing.push_back(r);
    int64_t seen = -1;
    auto refresh_missing = [&] {
        std::vector<int32_t> still;
        for (int32_t r : missing)
            if (!store.check({prefix + std::to_string(r)})) still.push_back(r);
        missing.swap(still);
    };
    auto fail = [&](const std::string& why) {
        const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        throw RendezvousFailure("init_process_group: rendezvous at " + where + " failed on rank " + std::to_string(rank) +
                                " of " + std::to_string(world_size) + " after " + std::to_string(waited.count()) +
                                " ms: " + describe_ranks(missing, local_world_size) + " never joined (" + why + ")");
    };
    try {
        store.set(prefix + std::to_string(rank), std::vector<uint8_t>{1});
        // A rank counts itself in after setting its key, so the keys of all counted ranks exist: the list of missing
        // ranks is only re-read when the count changed.
        int64_t count = store.add(prefix + "count", 1);
        for (int64_t polls = 0; count < world_size; ++polls) {
            if (count != seen) {
                refresh_missing();
                seen = count;
            }
            if (std::chrono::steady_clock::now() >= deadline) fail("timeout of " + std::to_string(timeout.count()) + " ms");
            std::this_thread::sleep_for(std::chrono::milliseconds(polls < 20 ? 10 : 100));
            count = store.add(prefix + "count", 0);
        }
    } catch (const RendezvousFailure&) {
        throw;
    } catch (const std::exception& e) {
        // The store went away: rank 0, which hosts it, ended (its own rendezvous timed out, or it was killed).
        fail(std::string("the store on rank 0 is gone: ") + first_line(what_of(e)));
    }
}

// The handle an autograd node keeps of a process group: the group and its store stay alive as long as a graph that
// needs them for its backward pass does, even after the managed ProcessGroup was disposed.
struct GroupRef : torch::CustomClassHolder {
    explicit GroupRef(const ProcessGroupState& s) : state(s) {}
    ProcessGroupState state;
};

// Differentiable all-reduce (sum), as torch.distributed.nn.functional.all_reduce: the forward sums the tensor over the
// ranks; since every rank's output depends on every rank's input, the gradient of an input is the sum over the ranks
// of the gradients of the outputs, an all-reduce again. Every rank must run the backward pass through it.
struct AllReduceSumFunction : public torch::autograd::Function<AllReduceSumFunction> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input,
                              c10::intrusive_ptr<GroupRef> group) {
        at::Tensor out = input.detach().clone(at::MemoryFormat::Contiguous);
        check_device(group->state, out, "all_reduce (autograd)");
        all_reduce_dense(group->state, out, kOpSum);
        ctx->saved_data["group"] = c10::IValue::make_capsule(std::move(group));
        return out;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grad_outputs) {
        auto holder = ctx->saved_data["group"].toCapsule();
        auto* group = static_cast<GroupRef*>(holder.get());
        at::Tensor grad = grad_outputs[0].detach().clone(at::MemoryFormat::Contiguous);
        all_reduce_dense(group->state, grad, kOpSum);
        return {grad, at::Tensor()};
    }
};

#ifdef USE_C10D_GLOO
std::shared_ptr<::gloo::transport::Device> make_gloo_device(const std::string& iface, const std::string& hostname) {
    if (!iface.empty()) return c10d::ProcessGroupGloo::createDeviceForInterface(iface);
    if (!hostname.empty()) return c10d::ProcessGroupGloo::createDeviceForHostname(hostname);
    return c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

}  // namespace

extern "C" {

FS_API int32_t fs_dist_backends(int32_t* gloo, int32_t* nccl) {
    FS_GUARD({
#ifdef USE_C10D_GLOO
        *gloo = 1;
#else
        *gloo = 0;
#endif
#ifdef USE_C10D_NCCL
        *nccl = 1;
#else
        *nccl = 0;
#endif
    })
}

FS_API int32_t fs_dist_init(int32_t backend, const char* master_addr, int32_t master_port, int32_t rank,
                            int32_t world_size, int64_t timeout_ms, const char* gloo_iface, const char* gloo_hostname,
                            int32_t device_index, int32_t local_world_size, fs_process_group* out) {
    FS_GUARD({
        *out = nullptr;
        if (world_size < 1) throw std::invalid_argument("init_process_group: world_size must be at least 1, got " +
                                                        std::to_string(world_size));
        if (rank < 0 || rank >= world_size)
            throw std::invalid_argument("init_process_group: rank " + std::to_string(rank) + " is outside [0, " +
                                        std::to_string(world_size) + ")");
        if (master_port < 1 || master_port > 65535)
            throw std::invalid_argument("init_process_group: master port " + std::to_string(master_port) +
                                        " is outside [1, 65535]");
        if (timeout_ms <= 0) throw std::invalid_argument("init_process_group: the timeout must be positive");
        if (master_addr == nullptr || *master_addr == '\0')
            throw std::invalid_argument("init_process_group: empty master address");

        auto state = std::make_unique<ProcessGroupState>();
        state->backend = backend;
        state->rank = rank;
        state->size = world_size;
        state->timeout = std::chrono::milliseconds(timeout_ms);

        // Rank 0 hosts the store; the others connect to it, retrying until the timeout. Then every rank waits in
        // rendezvous() until all have come, which names the missing ranks when some never do.
        const std::string where = std::string(master_addr) + ":" + std::to_string(master_port);
        c10d::TCPStoreOptions store_opts;
        store_opts.port = static_cast<std::uint16_t>(master_port);
        store_opts.isServer = rank == 0;
        store_opts.numWorkers = static_cast<std::size_t>(world_size);
        store_opts.waitWorkers = false;
        store_opts.timeout = state->timeout;
        c10::intrusive_ptr<c10d::Store> tcp;
        try {
            tcp = c10::make_intrusive<c10d::TCPStore>(std::string(master_addr), store_opts);
        } catch (const std::exception& e) {
            if (rank == 0)
                throw std::runtime_error("init_process_group: rank 0 of " + std::to_string(world_size) +
                                         " could not host the rendezvous store at " + where + ": " +
                                         first_line(what_of(e)));
            throw std::runtime_error("init_process_group: rendezvous at " + where + " failed on rank " +
                                     std::to_string(rank) + " of " + std::to_string(world_size) + ": " +
                                     describe_ranks({0}, local_world_size) +
                                     " (which hosts the store) never answered within " + std::to_string(timeout_ms) +
                                     " ms (" + first_line(what_of(e)) + ")");
        }
        rendezvous(*tcp, where, rank, world_size, local_world_size, state->timeout);
        // One prefix per backend, as PyTorch's default group uses, keeps the keys of a later group apart.
        state->store = c10::make_intrusive<c10d::PrefixStore>(std::string("default_pg/"), tcp);

        if (backend == kBackendGloo) {
#ifdef USE_C10D_GLOO
            auto opts = c10d::ProcessGroupGloo::Options::create(state->timeout);
            opts->devices.push_back(make_gloo_device(gloo_iface ? gloo_iface : "", gloo_hostname ? gloo_hostname : ""));
            try {
                state->group = c10::make_intrusive<c10d::ProcessGroupGloo>(state->store, rank, world_size, opts);
            } catch (const std::exception& e) {
                const char* inner = e.what();
                if (auto* ce = dynamic_cast<const c10::Error*>(&e)) inner = ce->what_without_backtrace();
                throw std::runtime_error("init_process_group: connecting the gloo process group failed on rank " +
                                         std::to_string(rank) + " of " + std::to_string(world_size) + ": " + inner +
                                         " (were all " + std::to_string(world_size) +
                                         " ranks started with the same MASTER_ADDR and MASTER_PORT within the timeout of " +
                                         std::to_string(timeout_ms) + " ms?)");
            }
#else
            throw std::runtime_error("init_process_group: this build of the native bridge has no Gloo support "
                                     "(build it with the gloo headers so USE_C10D_GLOO is defined)");
#endif
        } else if (backend == kBackendNccl) {
#ifdef USE_C10D_NCCL
            if (device_index >= 0) c10::cuda::set_device(static_cast<c10::DeviceIndex>(device_index));
            auto opts = c10d::ProcessGroupNCCL::Options::create();
            opts->timeout = state->timeout;
            state->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(state->store, rank, world_size, opts);
#else
            throw std::runtime_error("init_process_group: backend 'nccl' needs a native bridge built against a CUDA "
                                     "libtorch with NCCL (USE_C10D_NCCL); this one has none, use 'gloo'");
#endif
        } else {
            throw std::invalid_argument("init_process_group: unknown backend id " + std::to_string(backend));
        }
        *out = state.release();
    })
}

FS_API int32_t fs_dist_free(fs_process_group pg) { FS_GUARD(delete static_cast<ProcessGroupState*>(pg)) }

FS_API int32_t fs_dist_info(fs_process_group pg, int32_t* rank, int32_t* size, int32_t* backend) {
    FS_GUARD({
        const auto& s = state_ref(pg);
        *rank = s.rank;
        *size = s.size;
        *backend = s.backend;
    })
}

FS_API int32_t fs_dist_all_reduce(fs_process_group pg, const fs_tensor* tensors, int32_t count, int32_t op) {
    FS_GUARD({
        auto& s = state_ref(pg);
        auto list = tensor_list(tensors, count, "all_reduce");
        run_flattened(s, list, "all_reduce", [&](at::Tensor& buffer) { all_reduce_dense(s, buffer, op); });
    })
}

FS_API int32_t fs_dist_broadcast(fs_process_group pg, const fs_tensor* tensors, int32_t count, int32_t root) {
    FS_GUARD({
        auto& s = state_ref(pg);
        if (root < 0 || root >= s.size)
            throw std::invalid_argument("broadcast: source rank " + std::to_string(root) + " is outside [0, " +
                                        std::to_string(s.size) + ")");
        auto list = tensor_list(tensors, count, "broadcast");
        run_flattened(s, list, "broadcast", [&](at::Tensor& buffer) { broadcast_dense(s, buffer, root); });
    })
}

FS_API int32_t fs_dist_all_gather(fs_process_group pg, fs_tensor input, const fs_tensor* outputs, int32_t count) {
    FS_GUARD({
        auto& s = state_ref(pg);
        at::NoGradGuard no_grad;
        at::Tensor in = fastseg::tensor_ref(input).detach();
        check_device(s, in, "all_gather");
        if (count != s.size)
            throw std::invalid_argument("all_gather: the output list has " + std::to_string(count) +
                                        " tensors but the world size is " + std::to_string(s.size));
        auto outs = tensor_list(outputs, count, "all_gather");
        // Gloo wants dense buffers of one shape and dtype; gather into fresh ones and copy into the caller's tensors.
        std::vector<at::Tensor> gathered;
        gathered.reserve(outs.size());
        for (size_t i = 0; i < outs.size(); ++i) {
            if (outs[i].sizes() != in.sizes() || outs[i].scalar_type() != in.scalar_type())
                throw std::invalid_argument("all_gather: output " + std::to_string(i) + " is " +
                                            c10::toString(outs[i].scalar_type()) + c10::str(outs[i].sizes()) +
                                            " but the input is " + c10::toString(in.scalar_type()) +
                                            c10::str(in.sizes()));
            gathered.push_back(at::empty_like(in, at::MemoryFormat::Contiguous));
        }
        std::vector<std::vector<at::Tensor>> output_lists{gathered};
        std::vector<at::Tensor> inputs{in.contiguous()};
        wait_for(s, s.group->allgather(output_lists, inputs), "all_gather");
        for (size_t i = 0; i < outs.size(); ++i) outs[i].detach().copy_(output_lists[0][i]);
    })
}

FS_API int32_t fs_dist_barrier(fs_process_group pg) {
    FS_GUARD({
        auto& s = state_ref(pg);
        wait_for(s, s.group->barrier(), "barrier");
    })
}

FS_API int32_t fs_dist_all_reduce_autograd(fs_process_group pg, fs_tensor input, fs_tensor* out) {
    FS_GUARD({
        *out = nullptr;
        auto group = c10::make_intrusive<GroupRef>(state_ref(pg));
        const at::Tensor& in = fastseg::tensor_ref(input);
        if (!in.defined()) throw std::invalid_argument("all_reduce (autograd): the tensor is undefined");
        *out = fastseg::new_handle(AllReduceSumFunction::apply(in, std::move(group)));
    })
}

FS_API int32_t fs_dist_hook_backward_end(fs_tensor output, fs_backward_end_fn fn, int64_t context) {
    FS_GUARD({
        const at::Tensor& t = fastseg::tensor_ref(output);
        if (fn == nullptr) throw std::invalid_argument("backward-end hook: null callback");
        if (!t.requires_grad())
            throw std::invalid_argument("backward-end hook: the tensor does not require grad, no backward will reach it");
        // The tensor hook runs inside the engine while backward passes through `output`; from there the callback is
        // queued to run once the whole backward is done, when every gradient has been accumulated. An error it reports
        // is thrown inside the engine and comes out of backward() as FS_ERROR.
        t.register_hook([fn, context](const at::Tensor&) {
            torch::autograd::Engine::get_default_engine().queue_callback([fn, context] {
                char message[2048] = {0};
                if (fn(context, message, static_cast<int32_t>(sizeof message)) != 0) {
                    message[sizeof message - 1] = '\0';
                    throw std::runtime_error(message[0] ? message : "gradient synchronisation after backward failed");
                }
            });
        });
    })
}

}  // extern "C"
