// The one generic path to ATen: look an operator up by schema name once, then call it with boxed arguments that are
// coerced to the types its schema declares. Typed wrappers live in C#, not here.
#include "common.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/ivalue.h>
#include <ATen/core/jit_type.h>

#include <sstream>
#include <stdexcept>
#include <vector>

namespace {

using c10::IValue;

std::string describe_arg(const c10::FunctionSchema& schema, size_t index) {
    const auto& arg = schema.arguments()[index];
    return schema.name() + (schema.overload_name().empty() ? "" : "." + schema.overload_name()) + " argument " +
           std::to_string(index) + " '" + arg.name() + "' (" + arg.type()->str() + ")";
}

[[noreturn]] void bad_kind(const c10::FunctionSchema& schema, size_t index, const fs_value& v) {
    throw std::invalid_argument("cannot pass a value of kind " + std::to_string(v.kind) + " as " +
                                describe_arg(schema, index));
}

std::vector<int64_t> int_vector(const fs_value& v) {
    const auto* p = static_cast<const int64_t*>(v.ptr);
    return std::vector<int64_t>(p, p + v.count);
}

IValue to_scalar(const c10::FunctionSchema& schema, size_t index, const fs_value& v) {
    switch (v.kind) {
        case FS_INT: return IValue(c10::Scalar(static_cast<int64_t>(v.i)));
        case FS_DOUBLE: return IValue(c10::Scalar(v.d));
        case FS_BOOL: return IValue(c10::Scalar(v.i != 0));
        default: bad_kind(schema, index, v);
    }
}

// Converts one boxed value to the IValue the schema expects at `index`.
IValue coerce(const c10::FunctionSchema& schema, size_t index, const c10::TypePtr& type, const fs_value& v) {
    using K = c10::TypeKind;
    if (v.kind == FS_DEFAULT) {
        const auto& arg = schema.arguments()[index];
        if (!arg.default_value()) throw std::invalid_argument(describe_arg(schema, index) + " has no default value");
        return *arg.default_value();
    }
    switch (type->kind()) {
        case K::OptionalType: {
            if (v.kind == FS_NONE || (v.kind == FS_TENSOR && v.ptr == nullptr)) return IValue();
            return coerce(schema, index, type->castRaw<c10::OptionalType>()->getElementType(), v);
        }
        case K::TensorType:
            if (v.kind != FS_TENSOR) bad_kind(schema, index, v);
            if (v.ptr == nullptr) return IValue(at::Tensor());
            return IValue(*static_cast<at::Tensor*>(v.ptr));
        case K::IntType:
        case K::SymIntType:
            if (v.kind == FS_INT || v.kind == FS_BOOL) return IValue(static_cast<int64_t>(v.i));
            bad_kind(schema, index, v);
        case K::FloatType:
            if (v.kind == FS_DOUBLE) return IValue(v.d);
            if (v.kind == FS_INT) return IValue(static_cast<double>(v.i));
            bad_kind(schema, index, v);
        case K::BoolType:
            if (v.kind == FS_BOOL || v.kind == FS_INT) return IValue(v.i != 0);
            bad_kind(schema, index, v);
        case K::NumberType:
            return to_scalar(schema, index, v);
        case K::StringType:
            if (v.kind != FS_STRING) bad_kind(schema, index, v);
            return IValue(std::string(static_cast<const char*>(v.ptr)));
        case K::DeviceObjType:
            if (v.kind != FS_DEVICE) bad_kind(schema, index, v);
            return IValue(c10::Device(static_cast<c10::DeviceType>(v.i), static_cast<c10::DeviceIndex>(v.count)));
        case K::ScalarTypeType:
        case K::LayoutType:
        case K::MemoryFormatType:
            if (v.kind != FS_INT) bad_kind(schema, index, v);
            return IValue(static_cast<int64_t>(v.i));
        case K::ListType: {
            auto elem = type->castRaw<c10::ListType>()->getElementType();
            switch (elem->kind()) {
                // SymInt[] arguments accept plain int lists when boxed (libtorch converts them).
                case K::IntType:
                case K::SymIntType:
                    if (v.kind == FS_INT) return IValue(c10::List<int64_t>({v.i}));
                    if (v.kind != FS_INT_LIST) bad_kind(schema, index, v);
                    return IValue(c10::List<int64_t>(int_vector(v)));
                case K::FloatType: {
                    if (v.kind != FS_DOUBLE_LIST) bad_kind(schema, index, v);
                    const auto* p = static_cast<const double*>(v.ptr);
                    return IValue(c10::List<double>(std::vector<double>(p, p + v.count)));
                }
                case K::BoolType: {
                    if (v.kind != FS_BOOL_LIST) bad_kind(schema, index, v);
                    const auto* p = static_cast<const int64_t*>(v.ptr);
                    c10::List<bool> list;
                    for (int32_t k = 0; k < v.count; ++k) list.push_back(p[k] != 0);
                    return IValue(list);
                }
                case K::TensorType: {
                    if (v.kind != FS_TENSOR_LIST) bad_kind(schema, index, v);
                    const auto* p = static_cast<const fs_tensor*>(v.ptr);
                    c10::List<at::Tensor> list;
                    list.reserve(v.count);
                    for (int32_t k = 0; k < v.count; ++k) list.push_back(fastseg::tensor_ref(p[k]));
                    return IValue(list);
                }
                case K::OptionalType: {
                    if (v.kind != FS_TENSOR_LIST) bad_kind(schema, index, v);
                    const auto* p = static_cast<const fs_tensor*>(v.ptr);
                    c10::List<c10::optional<at::Tensor>> list;
                    list.reserve(v.count);
                    for (int32_t k = 0; k < v.count; ++k) {
                        if (p[k] == nullptr) list.push_back(c10::nullopt);
                        else list.push_back(fastseg::tensor_ref(p[k]));
                    }
                    return IValue(list);
                }
                default: break;
            }
            break;
        }
        case K::ClassType: {
            if (v.kind != FS_OBJECT) bad_kind(schema, index, v);
            if (v.ptr == nullptr) throw std::invalid_argument(describe_arg(schema, index) + ": null object handle");
            const auto& object = *static_cast<const IValue*>(v.ptr);
            if (!object.type()->isSubtypeOf(*type))
                throw std::invalid_argument(describe_arg(schema, index) + ": got an object of class " +
                                            object.type()->str());
            return object;
        }
        default: break;
    }
    throw std::invalid_argument(describe_arg(schema, index) + ": this argument type is not supported by the bridge");
}

struct ResultWriter {
    fs_value* out;
    int32_t capacity;
    int32_t count = 0;

    fs_value& next() {
        if (count >= capacity)
            throw std::length_error("the operator returned more than " + std::to_string(capacity) + " values");
        fs_value& v = out[count++];
        v = fs_value{FS_NONE, 0, 0, 0.0, nullptr};
        return v;
    }

    void tensor(const at::Tensor& t) {
        fs_value& v = next();
        v.kind = FS_TENSOR;
        v.ptr = t.defined() ? fastseg::new_handle(t) : nullptr;
    }

    void write(const IValue& iv) {
        if (iv.isTensor()) {
            tensor(iv.toTensor());
        } else if (iv.isTensorList()) {
            auto list = iv.toTensorList();
            fs_value& header = next();
            header.kind = FS_TENSOR_LIST;
            header.count = static_cast<int32_t>(list.size());
            for (const at::Tensor& t : list) tensor(t);
        } else if (iv.isTuple()) {
            for (const auto& element : iv.toTupleRef().elements()) write(element);
        } else if (iv.isInt()) {
            fs_value& v = next();
            v.kind = FS_INT;
            v.i = iv.toInt();
        } else if (iv.isDouble()) {
            fs_value& v = next();
            v.kind = FS_DOUBLE;
            v.d = iv.toDouble();
        } else if (iv.isBool()) {
            fs_value& v = next();
            v.kind = FS_BOOL;
            v.i = iv.toBool() ? 1 : 0;
        } else if (iv.isScalar()) {
            auto s = iv.toScalar();
            fs_value& v = next();
            if (s.isIntegral(false)) {
                v.kind = FS_INT;
                v.i = s.toLong();
            } else if (s.isBoolean()) {
                v.kind = FS_BOOL;
                v.i = s.toBool() ? 1 : 0;
            } else {
                v.kind = FS_DOUBLE;
                v.d = s.toDouble();
            }
        } else if (iv.isObject()) {
            fs_value& v = next();
            v.kind = FS_OBJECT;
            v.ptr = new IValue(iv);
        } else if (iv.isNone()) {
            next();
        } else {
            throw std::invalid_argument("the bridge cannot return a value of type " + iv.tagKind());
        }
    }

    // Releases tensors already handed out when a later result fails, so an error leaks nothing.
    void release_all() {
        for (int32_t k = 0; k < count; ++k) {
            if (out[k].kind == FS_TENSOR && out[k].ptr) delete static_cast<at::Tensor*>(out[k].ptr);
            if (out[k].kind == FS_OBJECT && out[k].ptr) delete static_cast<IValue*>(out[k].ptr);
        }
        count = 0;
    }
};

thread_local std::string g_schema_text;
thread_local std::string g_object_type_name;

}  // namespace

extern "C" {

FS_API int32_t fs_op_find(const char* name, const char* overload, fs_op* op) {
    FS_GUARD({
        *op = nullptr;
        auto handle = c10::Dispatcher::singleton().findSchema({name, overload ? overload : ""});
        if (!handle) {
            std::string full = std::string(name) + (overload && *overload ? std::string(".") + overload : "");
            throw std::invalid_argument("unknown operator '" + full + "': no such schema is registered in libtorch");
        }
        *op = new c10::OperatorHandle(*handle);
    })
}

FS_API int32_t fs_op_free(fs_op op) { FS_GUARD(delete static_cast<c10::OperatorHandle*>(op)) }

FS_API int32_t fs_object_free(fs_object o) { FS_GUARD(delete static_cast<IValue*>(o)) }

FS_API int32_t fs_object_type_name(fs_object o, const char** name) {
    FS_GUARD({
        if (o == nullptr) throw std::invalid_argument("null object handle");
        g_object_type_name = static_cast<const IValue*>(o)->type()->str();
        *name = g_object_type_name.c_str();
    })
}

FS_API int32_t fs_op_schema(fs_op op, const char** schema) {
    FS_GUARD({
        std::ostringstream os;
        os << static_cast<c10::OperatorHandle*>(op)->schema();
        g_schema_text = os.str();
        *schema = g_schema_text.c_str();
    })
}

FS_API int32_t fs_op_call(fs_op op, const fs_value* args, int32_t nargs, fs_value* results, int32_t capacity,
                          int32_t* nresults) {
    ResultWriter writer{results, capacity};
    FS_GUARD({
        *nresults = 0;
        const auto& handle = *static_cast<c10::OperatorHandle*>(op);
        const auto& schema = handle.schema();
        const auto& formals = schema.arguments();
        if (nargs < 0 || static_cast<size_t>(nargs) > formals.size())
            throw std::invalid_argument(schema.name() + " takes at most " + std::to_string(formals.size()) +
                                        " arguments, got " + std::to_string(nargs));
        torch::jit::Stack stack;
        stack.reserve(formals.size());
        for (size_t k = 0; k < formals.size(); ++k) {
            if (k < static_cast<size_t>(nargs)) {
                stack.push_back(coerce(schema, k, formals[k].type(), args[k]));
            } else if (formals[k].default_value()) {
                stack.push_back(*formals[k].default_value());
            } else {
                throw std::invalid_argument(describe_arg(schema, k) + " is required");
            }
        }
        handle.callBoxed(stack);
        try {
            for (const auto& value : stack) writer.write(value);
        } catch (...) {
            writer.release_all();
            throw;
        }
        *nresults = writer.count;
    })
}

}  // extern "C"
