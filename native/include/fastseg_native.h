/*
 * FastSeg native bridge: the C ABI that FastSeg.Torch reaches through P/Invoke.
 *
 * Conventions (every entry point follows them):
 *  - names start with `fs_`; only fixed-size types cross the boundary;
 *  - every function returns an int32 status: FS_OK (0) or FS_ERROR (1); results come back through out-parameters;
 *  - on FS_ERROR the message of the C++ exception (c10::Error or std::exception) is kept per thread and read with
 *    fs_last_error(); the managed side throws TorchException with it. No exception ever crosses the boundary.
 *  - tensor handles are heap-allocated at::Tensor objects (one reference each) released with fs_tensor_free.
 */
#ifndef FASTSEG_NATIVE_H
#define FASTSEG_NATIVE_H

#include <stdint.h>

#if defined(_WIN32)
#define FS_API __declspec(dllexport)
#else
#define FS_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define FS_OK 0
#define FS_ERROR 1

typedef void* fs_tensor;   /* at::Tensor* */
typedef void* fs_op;       /* c10::OperatorHandle* */
typedef void* fs_guard;    /* an RAII guard kept alive between enter and exit */

/* Kinds of a boxed value (fs_value.kind). */
enum fs_value_kind {
    FS_NONE = 0,
    FS_TENSOR = 1,        /* ptr: fs_tensor, or NULL for an undefined tensor */
    FS_INT = 2,           /* i */
    FS_DOUBLE = 3,        /* d */
    FS_BOOL = 4,          /* i (0/1) */
    FS_INT_LIST = 5,      /* ptr: const int64_t*, count */
    FS_DOUBLE_LIST = 6,   /* ptr: const double*, count */
    FS_TENSOR_LIST = 7,   /* ptr: const fs_tensor* (entries may be NULL for Tensor?[]), count.
                             As a result: a header followed by `count` FS_TENSOR entries. */
    FS_STRING = 8,        /* ptr: NUL-terminated UTF-8 */
    FS_DEVICE = 9,        /* i: device type (0 cpu, 1 cuda), count: index (-1 = current) */
    FS_DEFAULT = 10,      /* argument only: take the schema's default value */
    FS_BOOL_LIST = 11     /* ptr: const int64_t* (0/1), count */
};

/* One boxed argument or result: 32 bytes, identical layout in C#. */
typedef struct fs_value {
    int32_t kind;
    int32_t count;
    int64_t i;
    double d;
    void* ptr;
} fs_value;

/* ---- errors and runtime ---------------------------------------------------------------------------------------- */
FS_API const char* fs_last_error(void);
FS_API int32_t fs_version(const char** libtorch_version);
FS_API int32_t fs_set_num_threads(int32_t n);
FS_API int32_t fs_get_num_threads(int32_t* n);
FS_API int32_t fs_manual_seed(int64_t seed);
FS_API int32_t fs_cuda_is_available(int32_t* available);
FS_API int32_t fs_cuda_device_count(int32_t* count);

/* ---- generic operator calls through the ATen dispatcher --------------------------------------------------------- */
/* Looks up `name` (e.g. "aten::add") with `overload` ("Tensor", or "" for the default overload). */
FS_API int32_t fs_op_find(const char* name, const char* overload, fs_op* op);
FS_API int32_t fs_op_free(fs_op op);
/* Writes the operator's schema text into a thread-local buffer returned through `schema`. */
FS_API int32_t fs_op_schema(fs_op op, const char** schema);
/* Calls the operator with `nargs` boxed arguments; missing trailing arguments take the schema defaults. Results are
 * flattened into `results` (tuples element by element, lists as a header plus entries); `*nresults` receives how many
 * entries were written. Tensor results are new handles owned by the caller. */
FS_API int32_t fs_op_call(fs_op op, const fs_value* args, int32_t nargs, fs_value* results, int32_t capacity,
                          int32_t* nresults);

/* ---- tensors ---------------------------------------------------------------------------------------------------- */
FS_API int32_t fs_tensor_free(fs_tensor t);
/* New CPU tensor of `dtype` and shape, filled from `nbytes` bytes at `data` (row-major, dense). */
FS_API int32_t fs_tensor_from_data(const void* data, int64_t nbytes, int32_t dtype, const int64_t* shape,
                                   int32_t ndim, fs_tensor* out);
/* Copies the tensor's elements (moved to CPU and made dense when needed) into `dst` of `nbytes` bytes. */
FS_API int32_t fs_tensor_copy_to(fs_tensor t, void* dst, int64_t nbytes);
/* Pointer to the first element of a CPU tensor's storage (valid while the tensor lives); `contiguous` tells whether
 * the elements are dense and row-major. */
FS_API int32_t fs_tensor_data_ptr(fs_tensor t, void** ptr, int32_t* contiguous);

typedef struct fs_tensor_info {
    int32_t dtype;
    int32_t device_type;
    int32_t device_index;
    int32_t ndim;
    int32_t requires_grad;
    int32_t is_leaf;
    int32_t defined;
    int32_t reserved;
    int64_t numel;
    int64_t element_size;
} fs_tensor_info;

FS_API int32_t fs_tensor_info_get(fs_tensor t, fs_tensor_info* info);
/* Copies up to `capacity` sizes (or strides) into `out`; `*ndim` receives the tensor's dimension count. */
FS_API int32_t fs_tensor_sizes(fs_tensor t, int64_t* out, int32_t capacity, int32_t* ndim);
FS_API int32_t fs_tensor_strides(fs_tensor t, int64_t* out, int32_t capacity, int32_t* ndim);
FS_API int32_t fs_tensor_is_contiguous(fs_tensor t, int32_t memory_format, int32_t* contiguous);
FS_API int32_t fs_tensor_alias(fs_tensor t, fs_tensor* out);
FS_API int32_t fs_tensor_same(fs_tensor a, fs_tensor b, int32_t* same);

/* ---- autograd --------------------------------------------------------------------------------------------------- */
FS_API int32_t fs_tensor_set_requires_grad(fs_tensor t, int32_t requires_grad);
/* `*grad` is NULL when the tensor has no gradient. */
FS_API int32_t fs_tensor_grad(fs_tensor t, fs_tensor* grad);
/* Sets (or, with NULL, clears) the accumulated gradient; a new one must match the tensor in size, dtype and device. */
FS_API int32_t fs_tensor_set_grad(fs_tensor t, fs_tensor grad);
/* retain_graph: -1 = same as create_graph, 0 = free the graph, 1 = keep it. */
/* Replaces the data of `t` with `data` in place (PyTorch's `param.data = ...`): same object, new storage/dtype. */
FS_API int32_t fs_tensor_set_data(fs_tensor t, fs_tensor data);
FS_API int32_t fs_tensor_backward(fs_tensor t, fs_tensor gradient, int32_t retain_graph, int32_t create_graph);
FS_API int32_t fs_grad_mode(int32_t enabled, int32_t* previous);
FS_API int32_t fs_grad_mode_get(int32_t* enabled);
FS_API int32_t fs_inference_mode_enter(int32_t enabled, fs_guard* guard);
FS_API int32_t fs_inference_mode_exit(fs_guard guard);
FS_API int32_t fs_inference_mode_get(int32_t* enabled);

/* ---- automatic mixed precision ---------------------------------------------------------------------------------- */
/* device_type: 0 cpu, 1 cuda. */
FS_API int32_t fs_autocast_get(int32_t device_type, int32_t* enabled, int32_t* dtype);
FS_API int32_t fs_autocast_set(int32_t device_type, int32_t enabled, int32_t dtype);
/* Adds `delta` (+1 on enter, -1 on exit) to the nesting count; when it falls to zero the cast cache is cleared. */
FS_API int32_t fs_autocast_nesting(int32_t delta, int32_t* depth);

/* ---- distributed (c10d) ------------------------------------------------------------------------------------------ */
typedef void* fs_process_group; /* a process group with the store it was built on */

/* Which backends this build has: Gloo needs USE_C10D_GLOO (libgloo-dev), NCCL a CUDA libtorch with USE_C10D_NCCL. */
FS_API int32_t fs_dist_backends(int32_t* gloo, int32_t* nccl);
/* Rendezvous through a TCPStore (hosted by rank 0 at master_addr:master_port) and builds the process group.
 * backend: 0 gloo, 1 nccl. timeout_ms bounds the rendezvous and every later collective. The Gloo device is bound to
 * gloo_iface when non-empty, else to gloo_hostname when non-empty, else to the host's default address.
 * device_index: the CUDA device of this rank for nccl (-1 keeps the current one); ignored by gloo. */
FS_API int32_t fs_dist_init(int32_t backend, const char* master_addr, int32_t master_port, int32_t rank,
                            int32_t world_size, int64_t timeout_ms, const char* gloo_iface, const char* gloo_hostname,
                            int32_t device_index, fs_process_group* out);
FS_API int32_t fs_dist_free(fs_process_group pg);
FS_API int32_t fs_dist_info(fs_process_group pg, int32_t* rank, int32_t* size, int32_t* backend);
/* Collectives wait for completion; errors and timeouts come back as FS_ERROR. Several tensors travel as one flat
 * buffer per dtype. op: 0 sum, 1 avg, 2 product, 3 min, 4 max (avg: floating-point only). */
FS_API int32_t fs_dist_all_reduce(fs_process_group pg, const fs_tensor* tensors, int32_t count, int32_t op);
FS_API int32_t fs_dist_broadcast(fs_process_group pg, const fs_tensor* tensors, int32_t count, int32_t root);
/* outputs: world-size tensors of the input's shape and dtype, filled in rank order. */
FS_API int32_t fs_dist_all_gather(fs_process_group pg, fs_tensor input, const fs_tensor* outputs, int32_t count);
FS_API int32_t fs_dist_barrier(fs_process_group pg);
/* Callback run at the end of a backward pass; returns 0, or non-zero with a NUL-terminated message in `message`. */
typedef int32_t (*fs_backward_end_fn)(int64_t context, char* message, int32_t capacity);
/* Arms `fn(context, ...)` to run once after every backward pass that reaches `output` (which must require grad),
 * when all gradients are accumulated: how data-parallel wrappers all-reduce gradients without an explicit call. */
FS_API int32_t fs_dist_hook_backward_end(fs_tensor output, fs_backward_end_fn fn, int64_t context);

#ifdef __cplusplus
}
#endif

#endif
