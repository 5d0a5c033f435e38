#pragma once
// Harvesting: run a language model over text windows and keep, for chosen layers, every token's MLP
// input (after the FFN RMSNorm) and MLP output, with the token id and its position, in rows ordered
// window by window (row = window·T + position). Usable directly as a training source
// (data::paired_source) and storable as .npy files for Python tools.
#include "../io/npy.hpp"
#include "../io/tensor_data.hpp"
#include "../nn/mlp_weights.hpp"
#include "decoder.hpp"
#include "transformer.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sparse_distill::lm {

struct layer_activations {
    matrix<float> mlp_in;   ///< [N, dim]
    matrix<float> mlp_out;  ///< [N, dim]
};

struct harvest {
    int window_length = 0;
    std::vector<int> layers;                   ///< the layers harvested, ascending
    std::vector<layer_activations> activations;  ///< one per entry of `layers`
    std::vector<int> token_ids;                ///< [N]: the token at each row
    std::vector<int> positions;                ///< [N]: its position in its window

    index_t rows() const { return static_cast<index_t>(token_ids.size()); }
    const layer_activations& layer(int l) const {
        const auto it = std::find(layers.begin(), layers.end(), l);
        if (it == layers.end()) throw std::invalid_argument("harvest: layer " + std::to_string(l) + " was not harvested");
        return activations[static_cast<std::size_t>(it - layers.begin())];
    }
};

/// Runs `model` over `windows` (equal lengths), `batch_windows` at a time, and keeps the MLP inputs and
/// outputs of `layers`. `progress(done, total)` is called after each batch, if given. `Model` is a
/// float language model with MLP hooks: the llama2.c transformer or decoder_transformer<float>.
template <class Model>
harvest harvest_mlp_activations(const Model& model, const std::vector<std::vector<int>>& windows,
                                       std::vector<int> layers, int batch_windows = 16,
                                       const std::function<void(std::size_t, std::size_t)>& progress = {}) {
    if (windows.empty()) throw std::invalid_argument("harvest_mlp_activations: no windows");
    if (batch_windows < 1) throw std::invalid_argument("harvest_mlp_activations: batch_windows must be positive");
    for (std::size_t w = 0; w < windows.size(); ++w)
        if (windows[w].size() != windows.front().size())
            throw std::invalid_argument("harvest_mlp_activations: window " + std::to_string(w) + " has " +
                                        std::to_string(windows[w].size()) + " tokens, the first has " +
                                        std::to_string(windows.front().size()) + ": rows are laid out as window·T + position");
    std::sort(layers.begin(), layers.end());
    layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
    for (int l : layers)
        if (l < 0 || l >= model.config().n_layers)
            throw std::invalid_argument("harvest_mlp_activations: layer " + std::to_string(l) + " outside [0, " +
                                        std::to_string(model.config().n_layers) + ")");
    harvest h;
    h.window_length = static_cast<int>(windows.front().size());
    h.layers = layers;
    const index_t dim = model.config().dim, n = static_cast<index_t>(windows.size()) * h.window_length;
    for (std::size_t i = 0; i < layers.size(); ++i) h.activations.push_back({matrix<float>(n, dim), matrix<float>(n, dim)});
    h.token_ids.reserve(static_cast<std::size_t>(n));
    h.positions.reserve(static_cast<std::size_t>(n));

    for (std::size_t first = 0; first < windows.size(); first += static_cast<std::size_t>(batch_windows)) {
        const std::size_t count = std::min(windows.size() - first, static_cast<std::size_t>(batch_windows));
        const std::vector<std::vector<int>> batch(windows.begin() + static_cast<std::ptrdiff_t>(first),
                                                  windows.begin() + static_cast<std::ptrdiff_t>(first + count));
        const index_t row0 = static_cast<index_t>(first) * h.window_length;
        forward_hooks hooks;
        hooks.read = [&](int layer, const matrix<float>& in, const matrix<float>& out) {
            const auto it = std::find(h.layers.begin(), h.layers.end(), layer);
            if (it == h.layers.end()) return;
            layer_activations& a = h.activations[static_cast<std::size_t>(it - h.layers.begin())];
            a.mlp_in.middleRows(row0, in.rows()) = in;
            a.mlp_out.middleRows(row0, out.rows()) = out;
        };
        model.run_hooks_through(batch, hooks, layers.back());  // no logits: harvesting needs none
        for (const auto& w : batch)
            for (std::size_t t = 0; t < w.size(); ++t) {
                h.token_ids.push_back(w[t]);
                h.positions.push_back(static_cast<int>(t));
            }
        if (progress) progress(first + count, windows.size());
    }
    return h;
}

/// Mean MLP output over the harvested tokens of one layer: the replacement for mean ablation.
inline vector<float> mean_mlp_output(const layer_activations& a) {
    return a.mlp_out.colwise().mean().transpose();
}

/// A layer's MLP as a distillation teacher, as the model holds it: GPT-2/GPT-Neo gelu_new with
/// biases; Llama and llama2.c SwiGLU (w_in = gate W1, w_up = W3, w_out = W2ᵀ), no biases.
inline mlp_weights<float> teacher_weights(const decoder_transformer<float>& model, int layer) { return model.mlp(layer); }

/// Writes `dir`/tokens.npy (int32 [N]), positions.npy (int32 [N]) and, per layer L,
/// layerL_mlp_in.npy and layerL_mlp_out.npy (float32 [N, dim]); every file atomically.
inline void write_harvest_npy(const std::filesystem::path& dir, const harvest& h) {
    std::filesystem::create_directories(dir);
    const auto ints = [](const std::vector<int>& v) {
        std::vector<std::int32_t> values(v.begin(), v.end());
        return io::from_values<std::int32_t>({static_cast<std::int64_t>(values.size())}, io::dtype::i32,
                                             std::span<const std::int32_t>(values));
    };
    io::write_npy(dir / "tokens.npy", ints(h.token_ids));
    io::write_npy(dir / "positions.npy", ints(h.positions));
    for (std::size_t i = 0; i < h.layers.size(); ++i) {
        const std::string prefix = "layer" + std::to_string(h.layers[i]);
        io::write_npy(dir / (prefix + "_mlp_in.npy"), io::from_matrix(h.activations[i].mlp_in));
        io::write_npy(dir / (prefix + "_mlp_out.npy"), io::from_matrix(h.activations[i].mlp_out));
    }
}

}  // namespace sparse_distill::lm
