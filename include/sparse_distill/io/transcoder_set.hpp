#pragma once
// A circuit-tracer transcoder set: one student per layer of a model, every layer 0..n−1, written as
// circuit-tracer's load_transcoders reads it (circuit_tracer/utils/hf_utils.py and
// transcoder/single_layer_transcoder.py):
//
//   config.yaml            model_name, model_kind "transcoder_set", feature_input_hook "mlp.hook_in"
//                          (the MLP's input: the output of the norm before it), feature_output_hook
//                          "mlp.hook_out", activation "relu" or "topk" with k (JumpReLU: from the
//                          thresholds), transcoders: the layer files by absolute path
//   layer_{i}.safetensors  W_enc [d_sae, d_model], W_dec [d_sae, d_model], b_enc [d_sae],
//                          b_dec [d_model]; activation_function.threshold [d_sae] (JumpReLU, and
//                          BatchTopK as the JumpReLU it is at inference, θ = τ); W_skip [d_model,
//                          d_model], applied as x·W_skipᵀ, so the transpose of ours
//
// circuit-tracer computes a = act(x·W_encᵀ + b_enc), ŷ = a·W_dec + b_dec (+ x·W_skipᵀ): no input
// centring, the same d_sae in every layer, d_in = d_out.
#include "../config.hpp"
#include "sparse_distill/io/detail/folder_write.hpp"
#include "sparse_distill/io/error.hpp"
#include "sparse_distill/io/safetensors.hpp"
#include "sparse_distill/io/tensor_data.hpp"
#include "sparse_distill/io/text_file.hpp"
#include "sparse_distill/nn/student_config.hpp"
#include "sparse_distill/nn/student_weights.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace sparse_distill::io {

/// Why circuit-tracer cannot compute this student exactly, or "" when it can.
inline std::string circuit_tracer_export_problem(const student_config& c) {
    const std::string native = " (--save-format native holds it)";
    if (c.act != activation::relu)
        return "circuit-tracer transcoders apply ReLU, TopK or JumpReLU: a " + std::string(to_string(c.act)) +
               " student cannot be written as one" + native;
    if (c.pre_bias != pre_bias::none)
        return "circuit-tracer transcoders encode x itself: a student that subtracts a pre-bias (pre_bias " +
               std::string(to_string(c.pre_bias)) + ") from its input cannot be written as one" + native;
    if (c.d_in != c.d_out)
        return "circuit-tracer transcoders map d_model to d_model: this student maps " + std::to_string(c.d_in) + " → " +
               std::to_string(c.d_out) + native;
    return {};
}

/// One layer of a transcoder set.
template <class Scalar>
struct transcoder_layer {
    int layer = 0;
    student_config config;
    student_weights<Scalar> weights;
    double batch_threshold = 0;  ///< BatchTopK's τ
};

namespace detail {

// The activation config.yaml names for every layer (they must agree): "relu", "topk" or "jumprelu"
// (circuit-tracer reads JumpReLU from the thresholds in each file).
inline std::string transcoder_activation(const student_config& c) {
    switch (c.sparsity) {
        case sparsity_mode::topk: return "topk";
        case sparsity_mode::batchtopk:
        case sparsity_mode::jumprelu: return "jumprelu";
        default: return "relu";
    }
}

template <class Scalar>
std::map<std::string, tensor_data> transcoder_tensors(const transcoder_layer<Scalar>& t) {
    const auto& c = t.config;
    const auto& w = t.weights;
    const auto bias = [](const vector<Scalar>& b, index_t size) {
        return from_vector<Scalar>(b.size() == 0 ? vector<Scalar>(vector<Scalar>::Zero(size)) : b);
    };
    std::map<std::string, tensor_data> tensors;
    tensors.emplace("W_enc", from_matrix<Scalar>(w.w_enc));
    tensors.emplace("W_dec", from_matrix<Scalar>(w.w_dec));
    tensors.emplace("b_enc", bias(w.b_enc, c.d_sae));
    tensors.emplace("b_dec", bias(w.b_dec, c.d_out));
    if (c.sparsity == sparsity_mode::jumprelu)
        tensors.emplace("activation_function.threshold", from_vector<Scalar>(vector<Scalar>(w.log_threshold.array().exp())));
    if (c.sparsity == sparsity_mode::batchtopk)
        tensors.emplace("activation_function.threshold",
                        from_vector<Scalar>(vector<Scalar>::Constant(c.d_sae, static_cast<Scalar>(t.batch_threshold))));
    if (c.skip) tensors.emplace("W_skip", from_matrix<Scalar>(matrix<Scalar>(w.w_skip.transpose())));
    return tensors;
}

}  // namespace detail

/// Writes `layers` (one per layer 0..n_layers−1, in any order) as a circuit-tracer transcoder set in
/// `dir`, which appears complete or not at all. Throws io_error naming `dir` and the layer when a
/// layer is missing or repeated, a student cannot be written (circuit_tracer_export_problem), or the
/// layers disagree on what config.yaml states once for all (activation, k, d_sae, skip).
template <class Scalar>
void write_transcoder_set(const std::filesystem::path& dir, const std::string& model_name,
                          const std::vector<transcoder_layer<Scalar>>& layers, int n_layers) {
    std::vector<const transcoder_layer<Scalar>*> by_layer(static_cast<std::size_t>(std::max(n_layers, 0)), nullptr);
    for (const auto& t : layers) {
        if (t.layer < 0 || t.layer >= n_layers)
            throw io_error(dir, "layer " + std::to_string(t.layer), "outside the model's layers [0, " + std::to_string(n_layers) + ")");
        if (by_layer[static_cast<std::size_t>(t.layer)])
            throw io_error(dir, "layer " + std::to_string(t.layer), "given twice");
        by_layer[static_cast<std::size_t>(t.layer)] = &t;
    }
    for (int l = 0; l < n_layers; ++l)
        if (!by_layer[static_cast<std::size_t>(l)])
            throw io_error(dir, "layer " + std::to_string(l),
                           "missing: circuit-tracer needs a transcoder for every layer 0.." + std::to_string(n_layers - 1) +
                               " (distil them all: --layers all)");
    if (n_layers < 1) throw io_error(dir, "layers", "a transcoder set needs at least one layer");
    const student_config& first = by_layer.front()->config;
    for (const auto* t : by_layer) {
        const std::string field = "layer " + std::to_string(t->layer);
        if (const std::string problem = circuit_tracer_export_problem(t->config); !problem.empty()) throw io_error(dir, field, problem);
        const auto& c = t->config;
        if (detail::transcoder_activation(c) != detail::transcoder_activation(first) || c.d_sae != first.d_sae ||
            c.skip != first.skip || (c.sparsity == sparsity_mode::topk && c.k != first.k))
            throw io_error(dir, field, "differs from layer 0 in its activation, k, d_sae or skip connection; config.yaml states "
                                       "them once for the whole set");
    }

    const std::filesystem::path target = std::filesystem::absolute(detail::folder_target(dir));
    nlohmann::json name = model_name;
    std::string yaml = "# A circuit-tracer transcoder set written by sparse_distill " SD_VERSION_STRING
                       ": circuit_tracer.utils.hf_utils.load_transcoders(yaml.safe_load(open(this file)) | {'scan_name': ...})\n";
    yaml += "model_name: " + name.dump() + "\n";
    yaml += "model_kind: \"transcoder_set\"\n";
    yaml += "feature_input_hook: \"mlp.hook_in\"\n";
    yaml += "feature_output_hook: \"mlp.hook_out\"\n";
    const std::string activation = detail::transcoder_activation(first);
    if (activation != "jumprelu") yaml += "activation: \"" + activation + "\"\n";
    if (activation == "topk") yaml += "k: " + std::to_string(first.k) + "\n";
    yaml += "transcoders:\n";
    std::vector<std::string> files;
    for (int l = 0; l < n_layers; ++l) {
        files.push_back("layer_" + std::to_string(l) + ".safetensors");
        yaml += "  - " + nlohmann::json((target / files.back()).string()).dump() + "\n";
    }
    files.push_back("config.yaml");
    detail::write_folder_atomically(dir, files, [&](const std::filesystem::path& folder) {
        for (const auto* t : by_layer)
            write_safetensors(folder / ("layer_" + std::to_string(t->layer) + ".safetensors"), detail::transcoder_tensors(*t),
                              {{"format", "pt"}});
        write_text_file(folder / "config.yaml", yaml);
    });
}

}  // namespace sparse_distill::io
