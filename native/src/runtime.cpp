// Errors, threads, seeding and device queries.
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <torch/cuda.h>
#include <torch/version.h>

namespace fastseg {
namespace {
thread_local std::string g_last_error;
}
void set_last_error(const char* message) { g_last_error = message ? message : ""; }
void clear_last_error() { g_last_error.clear(); }
}  // namespace fastseg

extern "C" {

FS_API const char* fs_last_error(void) { return fastseg::g_last_error.c_str(); }

FS_API int32_t fs_version(const char** libtorch_version) { FS_GUARD(*libtorch_version = TORCH_VERSION) }

FS_API int32_t fs_set_num_threads(int32_t n) {
    FS_GUARD({
        if (n < 1) throw std::invalid_argument("set_num_threads: the thread count must be at least 1, got " +
                                               std::to_string(n));
        at::set_num_threads(n);
    })
}

FS_API int32_t fs_get_num_threads(int32_t* n) { FS_GUARD(*n = at::get_num_threads()) }

FS_API int32_t fs_manual_seed(int64_t seed) {
    FS_GUARD({
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_current_seed(static_cast<uint64_t>(seed));
        if (torch::cuda::is_available()) {
            for (size_t i = 0; i < torch::cuda::device_count(); ++i) {
                auto cuda_gen = at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<int8_t>(i)));
                std::lock_guard<std::mutex> cuda_lock(cuda_gen.mutex());
                cuda_gen.set_current_seed(static_cast<uint64_t>(seed));
            }
        }
    })
}

FS_API int32_t fs_cuda_is_available(int32_t* available) { FS_GUARD(*available = torch::cuda::is_available() ? 1 : 0) }

FS_API int32_t fs_cuda_device_count(int32_t* count) {
    FS_GUARD(*count = static_cast<int32_t>(torch::cuda::device_count()))
}

}  // extern "C"
