#pragma once
// Teachers from the checkpoints researchers have: transformer_lens state dicts and Hugging Face
// GPT-2, GPT-Neo and Llama models, one MLP layer at a time, converted to the library's layout
// (mlp_weights: row i of w_in, w_up and w_out belongs to neuron i).
//
//   scheme            tensors (per layer L)                                   orientation     activation
//   transformer_lens  blocks.L.mlp.W_in [d_model, d_mlp], b_in, W_out          y = x·W + b     gelu (config)
//                     [d_mlp, d_model], b_out; W_gate for a gated MLP; or
//                     the bare names W_in, …
//   gpt2              transformer.h.L.mlp.c_fc.weight [d_model, d_mlp], .bias, Conv1D: x·W + b  gelu_tanh
//                     c_proj.weight [d_mlp, d_model], .bias
//   gptneo            transformer.h.L.mlp.c_fc.weight [d_mlp, d_model], .bias, Linear: x·Wᵀ + b gelu_tanh
//                     c_proj.weight [d_model, d_mlp], .bias
//   llama             model.layers.L.mlp.gate_proj.weight [d_mlp, d_model],   Linear, gated   silu
//                     up_proj.weight [d_mlp, d_model], down_proj.weight [d_model, d_mlp]
//
// The "transformer." and "model." prefixes are optional (GPT2Model and LlamaModel save without
// them). A config.json beside the file overrides the activation where it names one.
#include "../config.hpp"
#include "sparse_distill/detail/enum_names.hpp"
#include "sparse_distill/io/detail/file_io.hpp"
#include "sparse_distill/io/detail/teacher_names.hpp"
#include "sparse_distill/io/detail/teacher_tensors.hpp"
#include "sparse_distill/io/error.hpp"
#include "sparse_distill/io/safetensors.hpp"
#include "sparse_distill/nn/activation.hpp"
#include "sparse_distill/nn/mlp_weights.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace sparse_distill::io {

/// The naming scheme of a teacher checkpoint; `automatic` detects it from the tensor names.
enum class teacher_format { automatic, transformer_lens, gpt2, gptneo, llama };

/// The formats' names; "automatic" and "gpt_neo" are aliases that parsing also accepts.
inline constexpr auto teacher_format_names = sparse_distill::detail::make_enum_table<teacher_format>(
    "teacher format", {{teacher_format::automatic, "auto"},
                       {teacher_format::transformer_lens, "transformer_lens"},
                       {teacher_format::gpt2, "gpt2"},
                       {teacher_format::gptneo, "gptneo"},
                       {teacher_format::llama, "llama"},
                       {teacher_format::automatic, "automatic"},
                       {teacher_format::gptneo, "gpt_neo"}});

/// "auto", "transformer_lens", "gpt2", "gptneo" or "llama".
constexpr std::string_view to_string(teacher_format format) { return teacher_format_names.name(format); }

/// Parses "auto" (also "automatic"), "transformer_lens", "gpt2", "gptneo" (also "gpt_neo") or
/// "llama"; throws std::invalid_argument listing these otherwise.
inline teacher_format parse_teacher_format(std::string_view name) { return teacher_format_names.parse(name); }

namespace detail {

inline const std::vector<std::string> gpt_roots{"transformer.h.", "h."};
inline const std::vector<std::string> llama_roots{"model.layers.", "layers."};
inline const std::vector<std::string> transformer_lens_roots{"blocks.", "model.blocks."};

// The config.json that Hugging Face (and transformer_lens users) keep beside the weights.
struct teacher_config {
    std::filesystem::path path;
    nlohmann::json json;

    const nlohmann::json* find(std::string_view key) const {
        const auto found = json.find(std::string(key));
        return found == json.end() ? nullptr : &*found;
    }
};

inline std::optional<teacher_config> read_teacher_config(const std::filesystem::path& weights_file) {
    const auto path = weights_file.parent_path() / "config.json";
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) return std::nullopt;
    file_reader reader(path);
    // Real configs are a few kilobytes; refuse to load something else that happens to be there.
    constexpr std::uint64_t limit = 16u << 20;
    if (reader.size() > limit)
        throw io_error(path, "file", "expected a config of at most " + std::to_string(limit) + " bytes, found " +
                                         std::to_string(reader.size()));
    std::string text(static_cast<std::size_t>(reader.size()), '\0');
    reader.read(0, std::as_writable_bytes(std::span(text)), "file");
    teacher_config config{path, {}};
    try {
        config.json = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw io_error(path, "file", std::string("invalid JSON: ") + e.what());
    }
    if (!config.json.is_object()) throw io_error(path, "file", "expected a JSON object");
    return config;
}

// The activation the config names under the first of `keys` present, else `fallback`.
inline activation config_activation(const std::optional<teacher_config>& config, std::initializer_list<const char*> keys,
                                    activation fallback) {
    if (!config) return fallback;
    for (const char* key : keys) {
        const auto* value = config->find(key);
        if (!value || value->is_null()) continue;
        if (!value->is_string())
            throw io_error(config->path, key, "expected an activation name string, found " + json_excerpt(*value));
        const auto& name = value->get_ref<const std::string&>();
        // transformers' "gelu_fast" is the same tanh approximation as "gelu_new", written differently.
        if (name == "gelu_fast") return activation::gelu_tanh;
        try {
            return parse_activation(name);
        } catch (const std::invalid_argument&) {
            throw io_error(config->path, key,
                           "unsupported activation '" + name_excerpt(name) +
                               "'; expected relu, gelu, gelu_new/gelu_pytorch_tanh/gelu_fast (gelu_tanh) or silu");
        }
    }
    return fallback;
}

template <class Names>
bool any_name_contains(const Names& names, std::string_view part) {
    for (const auto& entry : names)
        if (entry.first.find(part) != std::string::npos) return true;
    return false;
}

// GPT-2 and GPT-Neo share the MLP's tensor names and differ in orientation; tell them apart by
// their attention modules, then by the config, then by which extent of c_fc matches its bias.
template <class Source>
teacher_format gpt_flavour(Source& source, const mlp_layers& found, const std::optional<teacher_config>& config) {
    const auto& names = source.entries();
    if (any_name_contains(names, ".attn.c_attn.")) return teacher_format::gpt2;
    if (any_name_contains(names, ".attn.attention.")) return teacher_format::gptneo;
    if (config) {
        if (const auto* type = config->find("model_type"); type && type->is_string()) {
            if (*type == "gpt2") return teacher_format::gpt2;
            if (*type == "gpt_neo") return teacher_format::gptneo;
        }
    }
    const std::string prefix = found.root + std::to_string(*found.layers.begin()) + ".mlp.";
    if (names.count(prefix + "c_fc.bias")) {
        const auto& weight = source.shape(prefix + "c_fc.weight");
        const auto& bias = source.shape(prefix + "c_fc.bias");
        if (weight.size() == 2 && bias.size() == 1 && weight[0] != weight[1]) {
            if (bias[0] == weight[1]) return teacher_format::gpt2;
            if (bias[0] == weight[0]) return teacher_format::gptneo;
        }
    }
    throw io_error(source.path(), "tensor names",
                   "'" + prefix + "c_fc.weight' could be GPT-2 (Conv1D, [d_model, d_mlp]) or GPT-Neo (Linear, "
                   "[d_mlp, d_model]) and nothing in the file or a config.json beside it tells which; pass the "
                   "format explicitly (gpt2 or gptneo)");
}

template <class Source>
teacher_format detect_teacher_format(Source& source, const std::optional<teacher_config>& config) {
    const auto& names = source.entries();
    if (names.count("W_in") || find_mlp_layers(names, transformer_lens_roots, "W_in"))
        return teacher_format::transformer_lens;
    if (const auto found = find_mlp_layers(names, gpt_roots, "c_fc.weight")) return gpt_flavour(source, *found, config);
    if (find_mlp_layers(names, llama_roots, "gate_proj.weight")) return teacher_format::llama;
    throw io_error(source.path(), "tensor names",
                   "no MLP weights of a known naming scheme; expected 'blocks.L.mlp.W_in' or 'W_in' "
                   "(transformer_lens), 'transformer.h.L.mlp.c_fc.weight' (GPT-2, GPT-Neo) or "
                   "'model.layers.L.mlp.gate_proj.weight' (Llama); the file has " +
                       std::to_string(names.size()) + " tensors: " + list_names(names, 8));
}

// "<root>L.mlp." for `layer`, or an error saying that the file has no such tensors or which layers it has.
template <class Source>
std::string layer_prefix(Source& source, const std::vector<std::string>& roots, std::string_view anchor, int layer,
                         std::string_view scheme) {
    const auto found = find_mlp_layers(source.entries(), roots, anchor);
    if (!found)
        throw io_error(source.path(), "tensor '" + roots.front() + std::to_string(layer) + ".mlp." + std::string(anchor) + "'",
                       "missing; no tensor of the " + std::string(scheme) + " form '" + roots.front() + "L.mlp." +
                           std::string(anchor) + "' in the file, which has " + std::to_string(source.entries().size()) +
                           " tensors: " + list_names(source.entries(), 8));
    return mlp_prefix(*found, layer, anchor, source.path());
}

template <class Scalar, class Source>
mlp_weights<Scalar> import_transformer_lens(Source& source, int layer, const std::optional<teacher_config>& config) {
    // Bare names hold a single MLP, so there is no layer to choose.
    const std::string prefix =
        source.entries().count("W_in") ? std::string() : layer_prefix(source, transformer_lens_roots, "W_in", layer, "transformer_lens");
    mlp_tensor_reader<Source> tensors(source, prefix);
    mlp_weights<Scalar> w;
    const bool gated = tensors.has("W_gate");
    // transformer_lens's GatedMLP computes act(x·W_gate) ⊙ (x·W_in): W_gate is the activated branch.
    if (gated) {
        w.w_in = tensors.template first_matrix<Scalar>("W_gate", mlp_axis::d_model, mlp_axis::d_mlp).transpose();
        w.w_up = tensors.template matrix_of<Scalar>("W_in", mlp_axis::d_model, mlp_axis::d_mlp).transpose();
    } else {
        w.w_in = tensors.template first_matrix<Scalar>("W_in", mlp_axis::d_model, mlp_axis::d_mlp).transpose();
    }
    w.w_out = tensors.template matrix_of<Scalar>("W_out", mlp_axis::d_mlp, mlp_axis::d_model);
    if (tensors.has("b_in")) {
        auto b_in = tensors.template vector_of<Scalar>("b_in", mlp_axis::d_mlp);
        // There b_in is added after the gate product, which mlp_weights cannot express; Llama's is zero.
        if (gated && !(b_in.array() == Scalar(0)).all())
            throw io_error(source.path(), "tensor '" + tensors.full_name("b_in") + "'",
                           "a non-zero b_in of a gated transformer_lens MLP (added after the gate product) is not "
                           "supported; expected all zeros");
        if (!gated) w.b_in = std::move(b_in);
    }
    if (tensors.has("b_out")) w.b_out = tensors.template vector_of<Scalar>("b_out", mlp_axis::d_model);
    w.act = config_activation(config, {"act_fn", "activation_function", "hidden_act"},
                              gated ? activation::silu : activation::gelu);
    return w;
}

template <class Scalar, class Source>
mlp_weights<Scalar> import_gpt(Source& source, bool conv1d, int layer, const std::optional<teacher_config>& config) {
    mlp_tensor_reader<Source> tensors(source,
                                      layer_prefix(source, gpt_roots, "c_fc.weight", layer, conv1d ? "GPT-2" : "GPT-Neo"));
    mlp_weights<Scalar> w;
    if (conv1d) {
        w.w_in = tensors.template first_matrix<Scalar>("c_fc.weight", mlp_axis::d_model, mlp_axis::d_mlp).transpose();
        w.w_out = tensors.template matrix_of<Scalar>("c_proj.weight", mlp_axis::d_mlp, mlp_axis::d_model);
    } else {
        w.w_in = tensors.template first_matrix<Scalar>("c_fc.weight", mlp_axis::d_mlp, mlp_axis::d_model);
        w.w_out = tensors.template matrix_of<Scalar>("c_proj.weight", mlp_axis::d_model, mlp_axis::d_mlp).transpose();
    }
    w.b_in = tensors.template vector_of<Scalar>("c_fc.bias", mlp_axis::d_mlp);
    w.b_out = tensors.template vector_of<Scalar>("c_proj.bias", mlp_axis::d_model);
    w.act = config_activation(config, {"activation_function"}, activation::gelu_tanh);
    return w;
}

template <class Scalar, class Source>
mlp_weights<Scalar> import_llama(Source& source, int layer, const std::optional<teacher_config>& config) {
    mlp_tensor_reader<Source> tensors(source, layer_prefix(source, llama_roots, "gate_proj.weight", layer, "Llama"));
    mlp_weights<Scalar> w;
    w.w_in = tensors.template first_matrix<Scalar>("gate_proj.weight", mlp_axis::d_mlp, mlp_axis::d_model);
    w.w_up = tensors.template matrix_of<Scalar>("up_proj.weight", mlp_axis::d_mlp, mlp_axis::d_model);
    w.w_out = tensors.template matrix_of<Scalar>("down_proj.weight", mlp_axis::d_model, mlp_axis::d_mlp).transpose();
    // mlp_bias=True models: the gate's bias sits inside the activation as b_in does, down's is b_out;
    // a bias on the linear branch has no place in mlp_weights.
    if (tensors.has("up_proj.bias"))
        throw io_error(source.path(), "tensor '" + tensors.full_name("up_proj.bias") + "'",
                       "a bias on up_proj is not supported; expected none (mlp_bias false)");
    if (tensors.has("gate_proj.bias")) w.b_in = tensors.template vector_of<Scalar>("gate_proj.bias", mlp_axis::d_mlp);
    if (tensors.has("down_proj.bias")) w.b_out = tensors.template vector_of<Scalar>("down_proj.bias", mlp_axis::d_model);
    w.act = config_activation(config, {"hidden_act"}, activation::silu);
    return w;
}

template <class Scalar, class Source>
mlp_weights<Scalar> import_mlp(Source& source, teacher_format format, int layer, const std::optional<teacher_config>& config) {
    if (format == teacher_format::automatic) format = detect_teacher_format(source, config);
    mlp_weights<Scalar> w;
    switch (format) {
        case teacher_format::transformer_lens: w = import_transformer_lens<Scalar>(source, layer, config); break;
        case teacher_format::gpt2: w = import_gpt<Scalar>(source, true, layer, config); break;
        case teacher_format::gptneo: w = import_gpt<Scalar>(source, false, layer, config); break;
        case teacher_format::llama: w = import_llama<Scalar>(source, layer, config); break;
        case teacher_format::automatic: break;
    }
    try {
        w.validate();
    } catch (const std::invalid_argument& e) {
        throw io_error(source.path(), "teacher", e.what());
    }
    return w;
}

}  // namespace detail

/// Layer `layer`'s MLP of the checkpoint `file` (a .safetensors file, or a folder holding
/// model.safetensors) as a teacher, read in the naming scheme `format` (see the table at the top of
/// this header; `automatic` detects it). Only that layer's tensors are read. The activation is the
/// scheme's default unless a config.json beside the file names one ("activation_function",
/// "hidden_act", or transformer_lens's "act_fn"). Bare transformer_lens names ignore `layer`.
/// Throws io_error naming the file and tensor for a missing layer (listing those present), a
/// missing tensor, a wrong shape (expected vs found, and which of d_model/d_mlp disagrees), or a
/// non-finite weight.
template <class Scalar>
mlp_weights<Scalar> import_teacher(const std::filesystem::path& file, teacher_format format, int layer) {
    auto path = file;
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) path /= "model.safetensors";
    safetensors_reader reader(path);
    detail::reader_source source{reader};
    return detail::import_mlp<Scalar>(source, format, layer, detail::read_teacher_config(path));
}

/// As import_teacher, from a file already in memory (no config.json is consulted: the scheme's
/// default activation applies).
template <class Scalar>
mlp_weights<Scalar> import_teacher(const safetensors_file& file, teacher_format format, int layer) {
    detail::file_source source{file};
    return detail::import_mlp<Scalar>(source, format, layer, std::nullopt);
}

}  // namespace sparse_distill::io
