// TorchScript through libtorch's own tracer: a forward pass run by C# (through the usual dispatch path) is traced
// into a graph, which becomes the `forward` method of a script module holding the network's tensors under their
// state-dict keys; and saved modules load back for inference.
#include "common.h"

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/script.h>

#include <memory>
#include <string>
#include <vector>

namespace {

// Splits "backbone.layer1.0.weight" into its dotted parts.
std::vector<std::string> split_key(const std::string& key) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
        size_t dot = key.find('.', start);
        parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    for (const auto& p : parts)
        if (p.empty()) throw std::invalid_argument("TorchScript export: the state-dict key '" + key + "' has an empty part");
    return parts;
}

// A tree of submodules built from dotted keys, so the saved module's state_dict() has the network's own keys in the
// network's order (a module's own tensors, then its children in the order their keys first appear).
struct ModuleTree {
    torch::jit::Module module;
    std::vector<std::pair<std::string, std::unique_ptr<ModuleTree>>> children;

    ModuleTree* find(const std::string& name) {
        for (auto& [n, child] : children)
            if (n == name) return child.get();
        return nullptr;
    }
};

ModuleTree& child_of(ModuleTree& parent, const std::string& name, const std::shared_ptr<torch::jit::CompilationUnit>& cu) {
    if (ModuleTree* found = parent.find(name)) return *found;
    auto node = std::make_unique<ModuleTree>();
    // Each submodule gets its own (mangled) class in the parent's compilation unit.
    node->module = torch::jit::Module(c10::QualifiedName("__torch__.fastseg.Submodule"), cu, /*shouldMangle=*/true);
    parent.children.emplace_back(name, std::move(node));
    return *parent.children.back().second;
}

// Registers the submodules bottom-up: a module's type must be complete before the parent stores it as an attribute.
void register_children(ModuleTree& node) {
    for (auto& [name, child] : node.children) {
        register_children(*child);
        node.module.register_module(name, child->module);
    }
}

}  // namespace

extern "C" {

FS_API int32_t fs_jit_trace_save(const char* class_name, const char* const* keys, const fs_tensor* tensors,
                                 const int32_t* is_buffer, int32_t count, fs_tensor input, fs_jit_forward_fn forward,
                                 int64_t context, const char* path) {
    FS_GUARD({
        if (forward == nullptr) throw std::invalid_argument("TorchScript export: null forward callback");
        if (path == nullptr || path[0] == '\0') throw std::invalid_argument("TorchScript export: empty output path");
        std::string name = class_name && class_name[0] ? class_name : "Network";
        auto cu = std::make_shared<torch::jit::CompilationUnit>();
        ModuleTree root;
        root.module = torch::jit::Module(c10::QualifiedName("__torch__.fastseg." + name), cu, /*shouldMangle=*/true);
        // Leaves first into their modules (attributes), submodule links afterwards, in key order per module.
        for (int32_t k = 0; k < count; ++k) {
            std::string key = keys[k] ? keys[k] : "";
            auto parts = split_key(key);
            ModuleTree* node = &root;
            for (size_t p = 0; p + 1 < parts.size(); ++p) node = &child_of(*node, parts[p], cu);
            if (node->find(parts.back()) != nullptr)
                throw std::invalid_argument("TorchScript export: '" + key + "' is both a tensor and a module");
            node->module.register_parameter(parts.back(), fastseg::tensor_ref(tensors[k]), is_buffer[k] != 0);
        }
        register_children(root);

        torch::jit::Stack inputs{fastseg::tensor_ref(input)};
        std::string callback_error;
        // The tracer's thread-local state is set while `traced` runs: every dispatcher call the C# forward makes on
        // this thread is recorded, tensors of the module resolve to its attributes, other tensors become constants.
        auto traced = [&](torch::jit::Stack stack) -> torch::jit::Stack {
            at::Tensor in = stack.at(0).toTensor();
            fs_tensor out = nullptr;
            char message[4096] = {0};
            int32_t status = forward(context, fastseg::new_handle(in), &out, message, static_cast<int32_t>(sizeof message));
            if (status != 0) {
                message[sizeof message - 1] = '\0';
                throw std::runtime_error(message[0] ? message : "the traced forward pass failed");
            }
            if (out == nullptr) throw std::runtime_error("the traced forward pass returned no tensor");
            at::Tensor result = fastseg::tensor_ref(out);
            delete static_cast<at::Tensor*>(out);
            return {result};
        };
        auto lookup = [](const torch::autograd::Variable&) { return std::string(); };
        auto state = torch::jit::tracer::trace(std::move(inputs), traced, lookup, /*strict=*/true,
                                               /*force_outplace=*/false, &root.module)
                         .first;
        // As PyTorch's _create_method_from_trace: the graph (self first) becomes the class's forward method.
        auto method_name = c10::QualifiedName(*root.module.type()->name(), "forward");
        auto* fn = root.module._ivalue()->compilation_unit()->create_function(method_name, state->graph);
        root.module.type()->addMethod(fn);
        root.module.save(path);
    })
}

FS_API int32_t fs_jit_load(const char* path, fs_jit_module* module) {
    FS_GUARD({
        auto loaded = std::make_unique<torch::jit::Module>(torch::jit::load(path));
        loaded->eval();
        *module = loaded.release();
    })
}

FS_API int32_t fs_jit_forward(fs_jit_module module, fs_tensor input, fs_tensor* output) {
    FS_GUARD({
        if (module == nullptr) throw std::invalid_argument("null script module handle");
        auto& m = *static_cast<torch::jit::Module*>(module);
        c10::IValue result = m.forward({fastseg::tensor_ref(input)});
        if (!result.isTensor())
            throw std::runtime_error(std::string("the script module's forward returned ") + result.tagKind() +
                                     ", not a tensor");
        *output = fastseg::new_handle(result.toTensor());
    })
}

FS_API int32_t fs_jit_free(fs_jit_module module) { FS_GUARD(delete static_cast<torch::jit::Module*>(module)) }

}  // extern "C"
