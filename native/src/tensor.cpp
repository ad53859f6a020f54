// Tensor handles: creation from raw bytes, export, and the metadata queries the managed Tensor needs.
#include "common.h"

#include <cstring>

namespace {

void check_nbytes(const at::Tensor& t, int64_t nbytes, const char* what) {
    const int64_t expected = static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
    if (expected != nbytes)
        throw std::invalid_argument(std::string(what) + ": the tensor holds " + std::to_string(expected) +
                                    " bytes but the buffer has " + std::to_string(nbytes));
}

}  // namespace

extern "C" {

FS_API int32_t fs_tensor_free(fs_tensor t) { FS_GUARD(delete static_cast<at::Tensor*>(t)) }

FS_API int32_t fs_tensor_from_data(const void* data, int64_t nbytes, int32_t dtype, const int64_t* shape,
                                   int32_t ndim, fs_tensor* out) {
    FS_GUARD({
        *out = nullptr;
        at::IntArrayRef sizes(shape, static_cast<size_t>(ndim));
        for (int64_t s : sizes)
            if (s < 0) throw std::invalid_argument("tensor: negative dimension " + std::to_string(s) + " in shape " +
                                                   c10::str(sizes));
        auto t = at::empty(sizes, at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)));
        check_nbytes(t, nbytes, "tensor");
        if (nbytes > 0) std::memcpy(t.data_ptr(), data, static_cast<size_t>(nbytes));
        *out = fastseg::new_handle(std::move(t));
    })
}

FS_API int32_t fs_tensor_copy_to(fs_tensor t, void* dst, int64_t nbytes) {
    FS_GUARD({
        at::Tensor src = fastseg::tensor_ref(t);
        check_nbytes(src, nbytes, "copy_to");
        // Reading values must not record autograd history or fail on tensors that require grad.
        at::NoGradGuard no_grad;
        src = src.detach();
        if (!src.is_cpu()) src = src.to(at::kCPU);
        src = src.contiguous();
        if (nbytes > 0) std::memcpy(dst, src.data_ptr(), static_cast<size_t>(nbytes));
    })
}

FS_API int32_t fs_tensor_data_ptr(fs_tensor t, void** ptr, int32_t* contiguous) {
    FS_GUARD({
        const at::Tensor& x = fastseg::tensor_ref(t);
        if (!x.is_cpu()) throw std::invalid_argument("data_ptr: the tensor lives on " + x.device().str() +
                                                     ", move it to the CPU first");
        *ptr = x.data_ptr();
        *contiguous = x.is_contiguous() ? 1 : 0;
    })
}

FS_API int32_t fs_tensor_info_get(fs_tensor t, fs_tensor_info* info) {
    FS_GUARD({
        const at::Tensor& x = fastseg::tensor_ref(t);
        *info = fs_tensor_info{};
        info->defined = x.defined() ? 1 : 0;
        if (!x.defined()) return FS_OK;
        info->dtype = static_cast<int32_t>(x.scalar_type());
        info->device_type = static_cast<int32_t>(x.device().type());
        info->device_index = x.device().index();
        info->ndim = static_cast<int32_t>(x.dim());
        info->requires_grad = x.requires_grad() ? 1 : 0;
        info->is_leaf = x.is_leaf() ? 1 : 0;
        info->numel = x.numel();
        info->element_size = static_cast<int64_t>(x.element_size());
    })
}

FS_API int32_t fs_tensor_sizes(fs_tensor t, int64_t* out, int32_t capacity, int32_t* ndim) {
    FS_GUARD({
        auto sizes = fastseg::tensor_ref(t).sizes();
        *ndim = static_cast<int32_t>(sizes.size());
        for (size_t k = 0; k < sizes.size() && k < static_cast<size_t>(capacity); ++k) out[k] = sizes[k];
    })
}

FS_API int32_t fs_tensor_strides(fs_tensor t, int64_t* out, int32_t capacity, int32_t* ndim) {
    FS_GUARD({
        auto strides = fastseg::tensor_ref(t).strides();
        *ndim = static_cast<int32_t>(strides.size());
        for (size_t k = 0; k < strides.size() && k < static_cast<size_t>(capacity); ++k) out[k] = strides[k];
    })
}

FS_API int32_t fs_tensor_is_contiguous(fs_tensor t, int32_t memory_format, int32_t* contiguous) {
    FS_GUARD(*contiguous = fastseg::tensor_ref(t).is_contiguous(static_cast<at::MemoryFormat>(memory_format)) ? 1 : 0)
}

FS_API int32_t fs_tensor_alias(fs_tensor t, fs_tensor* out) {
    FS_GUARD(*out = fastseg::new_handle(fastseg::tensor_ref(t)))
}

FS_API int32_t fs_tensor_same(fs_tensor a, fs_tensor b, int32_t* same) {
    FS_GUARD(*same = fastseg::tensor_ref(a).is_same(fastseg::tensor_ref(b)) ? 1 : 0)
}

FS_API int32_t fs_tensor_impl(fs_tensor t, void** impl) {
    FS_GUARD(*impl = fastseg::tensor_ref(t).unsafeGetTensorImpl())
}

}  // extern "C"
