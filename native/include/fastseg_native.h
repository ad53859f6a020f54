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
typedef void* fs_object;   /* c10::IValue* holding a TorchScript custom-class object (e.g. a prepacked convolution) */

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
    FS_BOOL_LIST = 11,    /* ptr: const int64_t* (0/1), count */
    FS_OBJECT = 12        /* ptr: fs_object (argument: borrowed; result: a new handle owned by the caller) */
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

/* ---- custom-class objects (results of operators such as mkldnn_prepacked::conv2d_prepack) --------------------- */
FS_API int32_t fs_object_free(fs_object o);
/* The object's class name (e.g. "__torch__.torch.classes.mkldnn.ConvOpContext") in a thread-local buffer. */
FS_API int32_t fs_object_type_name(fs_object o, const char** name);

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
/* The address of the tensor's TensorImpl: equal for two handles exactly when fs_tensor_same says so (an in-place
   result and its input share it), stable while any handle to the tensor lives. Used to record operator graphs. */
FS_API int32_t fs_tensor_identity(fs_tensor t, int64_t* identity);

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

/* ---- images (OpenCV) -------------------------------------------------------------------------------------------- */
/* An image handle is a heap-allocated cv::Mat: continuous, height x width x channels, 8-bit or 16-bit unsigned
 * elements, colour stored as RGB (RGBA with four channels). Handles are released with fs_image_free. */
typedef void* fs_image;
typedef void* fs_buffer;   /* encoded bytes owned by the library, released with fs_buffer_free */

#define FS_IMAGE_U8 0      /* element depth codes (equal to OpenCV's CV_8U / CV_16U) */
#define FS_IMAGE_U16 2

/* How fs_image_decode_* interpret a file. */
enum fs_decode_mode {
    FS_DECODE_RGB = 0,        /* 8-bit, 3 channels, RGB (grey and 16-bit files are converted) */
    FS_DECODE_GRAY = 1,       /* 8-bit, 1 channel */
    FS_DECODE_UNCHANGED = 2,  /* as stored: depth and channel count kept; colour reordered to RGB(A) */
    FS_DECODE_LABEL = 3       /* a label mask: 1 channel, 8- or 16-bit as stored; a colour file whose channels are
                                 all equal gives its first channel, any other colour file is an error */
};

/* Interpolation codes (equal to OpenCV's). */
#define FS_INTER_NEAREST 0
#define FS_INTER_LINEAR 1
#define FS_INTER_AREA 3

/* Border codes (equal to OpenCV's). */
#define FS_BORDER_CONSTANT 0
#define FS_BORDER_REPLICATE 1
#define FS_BORDER_REFLECT 2
#define FS_BORDER_REFLECT_101 4

/* Colour conversions for fs_image_convert_color. */
enum fs_color_code {
    FS_COLOR_RGB2GRAY = 0,
    FS_COLOR_GRAY2RGB = 1,
    FS_COLOR_RGB2BGR = 2,    /* also BGR -> RGB */
    FS_COLOR_RGB2HSV = 3,    /* 8-bit: H in [0, 180) */
    FS_COLOR_HSV2RGB = 4,
    FS_COLOR_RGBA2RGB = 5,
    FS_COLOR_RGB2RGBA = 6
};

/* In-place photometric adjustments (8-bit RGB), with torchvision's / albumentations' uint8 semantics. */
enum fs_adjust_kind {
    FS_ADJUST_BRIGHTNESS = 0,  /* v * f, clipped */
    FS_ADJUST_CONTRAST = 1,    /* v * f + mean(grey) * (1 - f), clipped */
    FS_ADJUST_SATURATION = 2,  /* blend with the grey image: v * f + grey * (1 - f) */
    FS_ADJUST_HUE = 3          /* H += f * 180 (mod 180) in 8-bit HSV; f in [-0.5, 0.5] */
};

typedef struct fs_image_info {
    int32_t width;
    int32_t height;
    int32_t channels;
    int32_t depth;       /* FS_IMAGE_U8 or FS_IMAGE_U16 */
    int64_t nbytes;      /* width * height * channels * element size */
    void* data;          /* first element; rows are contiguous */
} fs_image_info;

/* One axis of a fused resize -> pad -> crop -> flip resampling (fs_image_warp_axes). Output index i (0..size-1)
 * reads position p = offset + (flip ? size-1-i : i) of the padded extent, i.e. position p - pad_before of the source
 * resized to `scaled` elements. Positions outside [0, scaled) follow the border mode. */
typedef struct fs_axis_plan {
    int32_t scaled;      /* extent of the resized source */
    int32_t pad_before;  /* padding in front of it */
    int32_t offset;      /* crop origin in padded coordinates */
    int32_t size;        /* output extent */
    int32_t flip;        /* 1: the output is reversed along this axis */
    int32_t reserved;
} fs_axis_plan;

FS_API int32_t fs_image_create(int32_t height, int32_t width, int32_t channels, int32_t depth, fs_image* out);
FS_API int32_t fs_image_free(fs_image image);
FS_API int32_t fs_image_info_get(fs_image image, fs_image_info* info);
FS_API int32_t fs_image_clone(fs_image image, fs_image* out);
FS_API int32_t fs_image_set_num_threads(int32_t n);   /* OpenCV's worker threads; 0 = run single-threaded */
FS_API int32_t fs_image_get_num_threads(int32_t* n);

/* Decoding checks that PNG and JPEG data are complete (IEND chunk / end-of-image marker) before decoding, so a
 * truncated file is an error rather than a partly grey image. Messages name the file. */
FS_API int32_t fs_image_decode_file(const char* path, int32_t mode, fs_image* out);
FS_API int32_t fs_image_decode_bytes(const void* data, int64_t nbytes, int32_t mode, fs_image* out);
/* format: ".png" or ".jpg"; param: PNG compression 0-9 or JPEG quality 0-100 (-1 = OpenCV's default). */
FS_API int32_t fs_image_encode(fs_image image, const char* format, int32_t param, fs_buffer* buffer,
                               const void** data, int64_t* nbytes);
FS_API int32_t fs_buffer_free(fs_buffer buffer);
/* Writes the file, choosing the format from the extension of `path`. */
FS_API int32_t fs_image_write_file(fs_image image, const char* path, int32_t param);

FS_API int32_t fs_image_resize(fs_image image, int32_t width, int32_t height, int32_t interpolation, fs_image* out);
FS_API int32_t fs_image_convert_color(fs_image image, int32_t code, fs_image* out);
/* code: 0 = vertical (upside down), 1 = horizontal (mirror), -1 = both. */
FS_API int32_t fs_image_flip(fs_image image, int32_t code, fs_image* out);
FS_API int32_t fs_image_crop(fs_image image, int32_t x, int32_t y, int32_t width, int32_t height, fs_image* out);
/* value: 4 doubles, one per channel. */
FS_API int32_t fs_image_pad(fs_image image, int32_t top, int32_t bottom, int32_t left, int32_t right, int32_t border,
                            const double* value, fs_image* out);
/* The fused geometric kernel: resize (nearest with OpenCV's index rule, or linear), pad, crop and flip in one pass
 * that reads only the source pixels the output needs. value: 4 doubles for FS_BORDER_CONSTANT. */
FS_API int32_t fs_image_warp_axes(fs_image image, const fs_axis_plan* x, const fs_axis_plan* y, int32_t interpolation,
                                  int32_t border, const double* value, fs_image* out);
FS_API int32_t fs_image_adjust(fs_image image, int32_t kind, double factor);

/* Label mapping: out(p) = table[in(p)] as an 8-bit mask. Entries < 0 and ids >= table_len are invalid: they count in
 * *invalid_count, the distinct invalid ids (ascending, at most `capacity`) go to invalid_ids / *n_invalid_ids, and
 * their pixels become 255. Table entries must be in [-1, 255]. */
FS_API int32_t fs_image_map_labels(fs_image mask, const int32_t* table, int32_t table_len, fs_image* out,
                                   int64_t* invalid_count, int32_t* invalid_ids, int32_t capacity,
                                   int32_t* n_invalid_ids);
/* Counts the values of a 1-channel image inside a window; values >= bins are not counted. */
FS_API int32_t fs_image_histogram(fs_image image, int32_t x, int32_t y, int32_t width, int32_t height,
                                  int64_t* counts, int32_t bins);
/* HWC -> CHW float32 with (v - mean[c]) * inv_std[c], written to dst (count = channels * height * width). */
FS_API int32_t fs_image_to_chw_f32(fs_image image, const float* mean, const float* inv_std, float* dst, int64_t count);
/* A 1-channel image widened to int64 (count = height * width). */
FS_API int32_t fs_image_to_i64(fs_image image, int64_t* dst, int64_t count);

/* ---- distributed (c10d) ------------------------------------------------------------------------------------------ */
typedef void* fs_process_group; /* a process group with the store it was built on */

/* Which backends this build has: Gloo needs USE_C10D_GLOO (libgloo-dev), NCCL a CUDA libtorch with USE_C10D_NCCL. */
FS_API int32_t fs_dist_backends(int32_t* gloo, int32_t* nccl);
/* Rendezvous through a TCPStore (hosted by rank 0 at master_addr:master_port) and builds the process group.
 * backend: 0 gloo, 1 nccl. timeout_ms bounds the rendezvous and every later collective. The Gloo device is bound to
 * gloo_iface when non-empty, else to gloo_hostname when non-empty, else to the host's default address.
 * device_index: the CUDA device of this rank for nccl (-1 keeps the current one); ignored by gloo.
 * local_world_size: ranks per node (torchrun's LOCAL_WORLD_SIZE), used to name the node of a rank that never came
 * to the rendezvous; 0 when unknown. */
FS_API int32_t fs_dist_init(int32_t backend, const char* master_addr, int32_t master_port, int32_t rank,
                            int32_t world_size, int64_t timeout_ms, const char* gloo_iface, const char* gloo_hostname,
                            int32_t device_index, int32_t local_world_size, fs_process_group* out);
FS_API int32_t fs_dist_free(fs_process_group pg);
FS_API int32_t fs_dist_info(fs_process_group pg, int32_t* rank, int32_t* size, int32_t* backend);
/* Collectives wait for completion; errors and timeouts come back as FS_ERROR. Several tensors travel as one flat
 * buffer per dtype. op: 0 sum, 1 avg, 2 product, 3 min, 4 max (avg: floating-point only). */
FS_API int32_t fs_dist_all_reduce(fs_process_group pg, const fs_tensor* tensors, int32_t count, int32_t op);
FS_API int32_t fs_dist_broadcast(fs_process_group pg, const fs_tensor* tensors, int32_t count, int32_t root);
/* outputs: world-size tensors of the input's shape and dtype, filled in rank order. */
FS_API int32_t fs_dist_all_gather(fs_process_group pg, fs_tensor input, const fs_tensor* outputs, int32_t count);
FS_API int32_t fs_dist_barrier(fs_process_group pg);
/* Differentiable sum over the ranks: *out is a new tensor (the sum); backward all-reduces the output's gradient into
 * the input's. Every rank must call it, and run backward through it, in the same order. */
FS_API int32_t fs_dist_all_reduce_autograd(fs_process_group pg, fs_tensor input, fs_tensor* out);
/* Callback run at the end of a backward pass; returns 0, or non-zero with a NUL-terminated message in `message`. */
typedef int32_t (*fs_backward_end_fn)(int64_t context, char* message, int32_t capacity);
/* Arms `fn(context, ...)` to run once after every backward pass that reaches `output` (which must require grad),
 * when all gradients are accumulated: how data-parallel wrappers all-reduce gradients without an explicit call. */
FS_API int32_t fs_dist_hook_backward_end(fs_tensor output, fs_backward_end_fn fn, int64_t context);

/* ---- TorchScript (libtorch's tracer) ---------------------------------------------------------------------------- */
typedef void* fs_jit_module; /* torch::jit::Module* */
/* The forward pass to trace: runs the network on `input` (a new handle the callee frees) and stores a new handle to
 * its result in `*output`; returns 0, or non-zero with a NUL-terminated message in `message`. */
typedef int32_t (*fs_jit_forward_fn)(int64_t context, fs_tensor input, fs_tensor* output, char* message, int32_t capacity);
/* Builds a script module holding `count` tensors under their dotted state-dict keys (nested submodules; is_buffer[k]
 * 0 = parameter, 1 = buffer), traces `forward(context, input)` with libtorch's tracer into its `forward` method and
 * saves it to `path` (torch.jit.load reads it). */
FS_API int32_t fs_jit_trace_save(const char* class_name, const char* const* keys, const fs_tensor* tensors,
                                 const int32_t* is_buffer, int32_t count, fs_tensor input, fs_jit_forward_fn forward,
                                 int64_t context, const char* path);
/* Loads a saved script module (in eval mode); release it with fs_jit_free. */
FS_API int32_t fs_jit_load(const char* path, fs_jit_module* module);
/* Runs the module's forward on one tensor; it must return one tensor. */
FS_API int32_t fs_jit_forward(fs_jit_module module, fs_tensor input, fs_tensor* output);
FS_API int32_t fs_jit_free(fs_jit_module module);

#ifdef __cplusplus
}
#endif

#endif
