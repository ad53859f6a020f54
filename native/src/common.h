// Shared plumbing of the native bridge: the per-thread error message and the macro that turns every C++ exception
// into an FS_ERROR status. Nothing in here knows about individual operators.
#pragma once

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <exception>
#include <string>

#include "fastseg_native.h"

namespace fastseg {

void set_last_error(const char* message);
void clear_last_error();

inline at::Tensor& tensor_ref(fs_tensor t) {
    if (t == nullptr) throw std::invalid_argument("null tensor handle");
    return *static_cast<at::Tensor*>(t);
}

inline fs_tensor new_handle(at::Tensor t) { return new at::Tensor(std::move(t)); }

}  // namespace fastseg

// Runs the body; any exception becomes FS_ERROR with its message kept for fs_last_error(). c10::Error messages
// carry a C++ backtrace in what(); what_without_backtrace() keeps the text a user can act on.
#define FS_GUARD(body)                                                  \
    try {                                                               \
        body;                                                           \
        return FS_OK;                                                   \
    } catch (const c10::Error& e) {                                     \
        fastseg::set_last_error(e.what_without_backtrace());            \
    } catch (const std::exception& e) {                                 \
        fastseg::set_last_error(e.what());                              \
    } catch (...) {                                                     \
        fastseg::set_last_error("unknown native exception");           \
    }                                                                   \
    return FS_ERROR;
