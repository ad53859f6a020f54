// Autograd entry points, grad-mode and inference-mode scopes, and autocast state.
#include "common.h"

#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/variable.h>

extern "C" {

FS_API int32_t fs_tensor_set_requires_grad(fs_tensor t, int32_t requires_grad) {
    FS_GUARD(fastseg::tensor_ref(t).set_requires_grad(requires_grad != 0))
}

FS_API int32_t fs_tensor_grad(fs_tensor t, fs_tensor* grad) {
    FS_GUARD({
        const at::Tensor& g = fastseg::tensor_ref(t).grad();
        *grad = g.defined() ? fastseg::new_handle(g) : nullptr;
    })
}

FS_API int32_t fs_tensor_set_grad(fs_tensor t, fs_tensor grad) {
    FS_GUARD({
        at::Tensor& x = fastseg::tensor_ref(t);
        if (!grad) {
            x.mutable_grad() = at::Tensor();
            return FS_OK;
        }
        const at::Tensor& g = fastseg::tensor_ref(grad);
        // The checks of PyTorch's Python setter: libtorch's mutable_grad() takes anything, and a mismatched gradient
        // would then be broadcast silently by later accumulations and optimizer updates.
        TORCH_CHECK(!x.is_same(g), "can't assign Variable as its own grad");
        TORCH_CHECK_TYPE(g.options().type_equal(x.options()), "assigned grad has data of a different type");
        TORCH_CHECK(g.device() == x.device(), "assigned grad has data located on a different device");
        TORCH_CHECK(g.sizes().equals(x.sizes()), "assigned grad has data of a different size");
        x.mutable_grad() = g;
    })
}

FS_API int32_t fs_tensor_set_data(fs_tensor t, fs_tensor data) {
    FS_GUARD(fastseg::tensor_ref(t).set_data(fastseg::tensor_ref(data)))
}

FS_API int32_t fs_tensor_backward(fs_tensor t, fs_tensor gradient, int32_t retain_graph, int32_t create_graph) {
    FS_GUARD({
        const at::Tensor& x = fastseg::tensor_ref(t);
        c10::optional<bool> retain;
        if (retain_graph >= 0) retain = retain_graph != 0;
        at::Tensor g = gradient ? fastseg::tensor_ref(gradient) : at::Tensor();
        torch::autograd::backward({x}, g.defined() ? torch::autograd::variable_list{g} : torch::autograd::variable_list{},
                                  retain, create_graph != 0);
    })
}

FS_API int32_t fs_grad_mode(int32_t enabled, int32_t* previous) {
    FS_GUARD({
        *previous = c10::GradMode::is_enabled() ? 1 : 0;
        c10::GradMode::set_enabled(enabled != 0);
    })
}

FS_API int32_t fs_grad_mode_get(int32_t* enabled) { FS_GUARD(*enabled = c10::GradMode::is_enabled() ? 1 : 0) }

FS_API int32_t fs_inference_mode_enter(int32_t enabled, fs_guard* guard) {
    FS_GUARD(*guard = new c10::InferenceMode(enabled != 0))
}

FS_API int32_t fs_inference_mode_exit(fs_guard guard) { FS_GUARD(delete static_cast<c10::InferenceMode*>(guard)) }

FS_API int32_t fs_inference_mode_get(int32_t* enabled) {
    FS_GUARD(*enabled = c10::InferenceMode::is_enabled() ? 1 : 0)
}

FS_API int32_t fs_autocast_get(int32_t device_type, int32_t* enabled, int32_t* dtype) {
    FS_GUARD({
        if (device_type == 0) {
            *enabled = at::autocast::is_cpu_enabled() ? 1 : 0;
            *dtype = static_cast<int32_t>(at::autocast::get_autocast_cpu_dtype());
        } else if (device_type == 1) {
            *enabled = at::autocast::is_enabled() ? 1 : 0;
            *dtype = static_cast<int32_t>(at::autocast::get_autocast_gpu_dtype());
        } else {
            throw std::invalid_argument("autocast: unsupported device type " + std::to_string(device_type));
        }
    })
}

FS_API int32_t fs_autocast_set(int32_t device_type, int32_t enabled, int32_t dtype) {
    FS_GUARD({
        auto type = static_cast<at::ScalarType>(dtype);
        if (device_type == 0) {
            if (enabled && type != at::kBFloat16)
                throw std::invalid_argument(std::string("autocast on cpu supports only bfloat16, got ") +
                                            c10::toString(type));
            at::autocast::set_cpu_enabled(enabled != 0);
            at::autocast::set_autocast_cpu_dtype(type);
        } else if (device_type == 1) {
            at::autocast::set_enabled(enabled != 0);
            at::autocast::set_autocast_gpu_dtype(type);
        } else {
            throw std::invalid_argument("autocast: unsupported device type " + std::to_string(device_type));
        }
    })
}

FS_API int32_t fs_autocast_nesting(int32_t delta, int32_t* depth) {
    FS_GUARD({
        int d = 0;
        if (delta > 0) {
            for (int32_t k = 0; k < delta; ++k) d = at::autocast::increment_nesting();
        } else if (delta < 0) {
            for (int32_t k = 0; k < -delta; ++k) d = at::autocast::decrement_nesting();
            if (d == 0) at::autocast::clear_cache();
        }
        *depth = d;
    })
}

}  // extern "C"
