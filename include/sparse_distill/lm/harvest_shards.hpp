#pragma once
// Harvesting to disk: the MLP inputs and outputs of chosen layers stream into .npy shards as the
// model runs, so a text larger than memory can be harvested and then trained on through
// data::sharded_npy_source. Memory is bounded by one shard per layer (in and out), whatever the
// text's length.
//
//   DIR/layerL_mlp_in.NNNNN.npy, layerL_mlp_out.NNNNN.npy   float32 [rows, dim], rows in window order
//   DIR/tokens.npy, positions.npy                          int32 [N], written last
//
// `distill train --inputs 'DIR/layer1_mlp_in.*.npy' --targets 'DIR/layer1_mlp_out.*.npy'` trains on
// them (the patterns expand in sorted order, which is shard order).
#include "../config.hpp"
#include "sparse_distill/data/sharded_npy_source.hpp"
#include "sparse_distill/io/npy.hpp"
#include "sparse_distill/io/tensor_data.hpp"
#include "sparse_distill/lm/forward_hooks.hpp"
#include "sparse_distill/tensor/matrix.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace sparse_distill::lm {

/// What harvest_mlp_shards wrote: per harvested layer its shards (inputs = MLP inputs, targets = MLP
/// outputs) and its mean MLP output (the mean-ablation replacement), accumulated in double.
struct sharded_harvest {
    std::filesystem::path folder;
    std::vector<int> layers;  ///< ascending
    std::vector<data::npy_shards> shards;
    std::vector<vector<double>> mean_output;
    std::uint64_t rows = 0;

    std::size_t index_of(int layer) const {
        const auto it = std::find(layers.begin(), layers.end(), layer);
        if (it == layers.end()) throw std::invalid_argument("sharded_harvest: layer " + std::to_string(layer) + " was not harvested");
        return static_cast<std::size_t>(it - layers.begin());
    }
    const data::npy_shards& layer(int l) const { return shards[index_of(l)]; }
};

/// Shard file name: "layer3_mlp_in.00012.npy" (five digits sort correctly up to 100,000 shards).
inline std::string harvest_shard_name(int layer, const char* which, std::size_t shard) {
    char number[24];
    std::snprintf(number, sizeof number, "%05zu", shard);
    return "layer" + std::to_string(layer) + "_mlp_" + which + "." + number + ".npy";
}

/// Runs `model` over `windows` (equal lengths), `batch_windows` at a time, writing the MLP inputs
/// and outputs of `layers` into shards of `rows_per_shard` rows (the last may be shorter) in
/// `folder`, each file written atomically. `progress(done, total)` after each batch, if given.
template <class Model>
sharded_harvest harvest_mlp_shards(const Model& model, const std::vector<std::vector<int>>& windows, std::vector<int> layers,
                                   const std::filesystem::path& folder, index_t rows_per_shard, int batch_windows = 16,
                                   const std::function<void(std::size_t, std::size_t)>& progress = {}) {
    if (windows.empty()) throw std::invalid_argument("harvest_mlp_shards: no windows");
    if (batch_windows < 1 || rows_per_shard < 1)
        throw std::invalid_argument("harvest_mlp_shards: batch_windows and rows_per_shard must be positive");
    std::sort(layers.begin(), layers.end());
    layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
    for (int l : layers)
        if (l < 0 || l >= model.config().n_layers)
            throw std::invalid_argument("harvest_mlp_shards: layer " + std::to_string(l) + " outside [0, " +
                                        std::to_string(model.config().n_layers) + ")");
    std::filesystem::create_directories(folder);
    const index_t dim = model.config().dim;
    sharded_harvest h;
    h.folder = folder;
    h.layers = layers;
    h.shards.resize(layers.size());
    h.mean_output.assign(layers.size(), vector<double>::Zero(dim));
    std::vector<matrix<float>> in_buffer(layers.size(), matrix<float>(rows_per_shard, dim)), out_buffer = in_buffer;
    index_t buffered = 0;
    std::vector<std::int32_t> token_ids, positions;

    const auto flush = [&] {
        if (buffered == 0) return;
        const std::size_t shard = h.shards.front().inputs.size();
        for (std::size_t i = 0; i < layers.size(); ++i) {
            const auto write = [&](const matrix<float>& buffer, const char* which) {
                const auto path = folder / harvest_shard_name(layers[i], which, shard);
                io::write_npy(path, io::from_values<float>({static_cast<std::int64_t>(buffered), static_cast<std::int64_t>(dim)}, io::dtype::f32,
                                                           std::span<const float>(buffer.data(), static_cast<std::size_t>(buffered * dim))));
                return path;
            };
            h.shards[i].inputs.push_back(write(in_buffer[i], "in"));
            h.shards[i].targets.push_back(write(out_buffer[i], "out"));
        }
        buffered = 0;
    };

    const auto T = static_cast<index_t>(windows.front().size());
    for (std::size_t first = 0; first < windows.size(); first += static_cast<std::size_t>(batch_windows)) {
        const std::size_t count = std::min(windows.size() - first, static_cast<std::size_t>(batch_windows));
        const std::vector<std::vector<int>> batch(windows.begin() + static_cast<std::ptrdiff_t>(first),
                                                  windows.begin() + static_cast<std::ptrdiff_t>(first + count));
        for (const auto& w : batch)
            if (static_cast<index_t>(w.size()) != T)
                throw std::invalid_argument("harvest_mlp_shards: windows differ in length; rows are laid out as window·T + position");
        // The hook sees each layer in order; the rows are copied into the buffers once all layers of
        // this batch are seen, so a flush never splits a batch's layers across shards.
        std::vector<matrix<float>> batch_in(layers.size()), batch_out(layers.size());
        forward_hooks hooks;
        hooks.read = [&](int layer, const matrix<float>& in, const matrix<float>& out) {
            const auto it = std::find(layers.begin(), layers.end(), layer);
            if (it == layers.end()) return;
            const auto i = static_cast<std::size_t>(it - layers.begin());
            batch_in[i] = in;
            batch_out[i] = out;
            h.mean_output[i] += out.cast<double>().colwise().sum().transpose();
        };
        model.run_hooks_through(batch, hooks, layers.back());  // no logits: harvesting needs none
        const index_t batch_rows = static_cast<index_t>(count) * T;
        for (index_t done = 0; done < batch_rows;) {
            const index_t take = std::min(batch_rows - done, rows_per_shard - buffered);
            for (std::size_t i = 0; i < layers.size(); ++i) {
                in_buffer[i].middleRows(buffered, take) = batch_in[i].middleRows(done, take);
                out_buffer[i].middleRows(buffered, take) = batch_out[i].middleRows(done, take);
            }
            buffered += take;
            done += take;
            if (buffered == rows_per_shard) flush();
        }
        for (const auto& w : batch)
            for (index_t t = 0; t < T; ++t) {
                token_ids.push_back(w[static_cast<std::size_t>(t)]);
                positions.push_back(static_cast<std::int32_t>(t));
            }
        h.rows += static_cast<std::uint64_t>(batch_rows);
        if (progress) progress(first + count, windows.size());
    }
    flush();
    for (auto& mean : h.mean_output) mean /= static_cast<double>(h.rows);
    const auto ints = [](const std::vector<std::int32_t>& v) {
        return io::from_values<std::int32_t>({static_cast<std::int64_t>(v.size())}, io::dtype::i32, std::span<const std::int32_t>(v));
    };
    io::write_npy(folder / "tokens.npy", ints(token_ids));
    io::write_npy(folder / "positions.npy", ints(positions));
    return h;
}

/// Rows per shard for `dim` columns: shards of about `bytes` bytes each (in and out alike), at least 1024 rows.
inline index_t rows_per_shard_for(index_t dim, std::size_t bytes = std::size_t{32} << 20) {
    return std::max<index_t>(1024, static_cast<index_t>(bytes / (static_cast<std::size_t>(dim) * sizeof(float))));
}

}  // namespace sparse_distill::lm
