#pragma once
// Llama-architecture language models as Karpathy's llama2.c exports them (the legacy "v0" format):
// the configuration, the weights in the file's own row-major [out][in] layout, and the reader.
#include "../config.hpp"
#include "sparse_distill/io/detail/byte_order.hpp"
#include "sparse_distill/io/detail/file_io.hpp"
#include "sparse_distill/io/error.hpp"
#include "sparse_distill/lm/detail/checkpoint_layout.hpp"
#include "sparse_distill/lm/detail/rope.hpp"
#include "sparse_distill/tensor/matrix.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sparse_distill::lm {

/// Shape of a llama2.c model. head_size = dim / n_heads; kv_dim = head_size · n_kv_heads (the width
/// of the key and value projections, shared by n_heads / n_kv_heads query heads each).
struct llama_config {
    int dim = 0;
    int hidden_dim = 0;  ///< width of the SwiGLU MLP
    int n_layers = 0;
    int n_heads = 0;
    int n_kv_heads = 0;
    int vocab_size = 0;
    int seq_len = 0;  ///< longest sequence the model was trained on
    bool shared_classifier = true;  ///< logits use token_embedding (no separate classifier)

    int head_size() const { return dim / n_heads; }
    int kv_dim() const { return head_size() * n_kv_heads; }

    /// Throws std::invalid_argument unless every size is positive, n_heads divides dim, n_kv_heads
    /// divides n_heads and head_size is even (RoPE rotates pairs).
    void validate() const;

    /// "dim 64, hidden_dim 172, ..." for messages.
    std::string describe() const {
        return "dim " + std::to_string(dim) + ", hidden_dim " + std::to_string(hidden_dim) + ", n_layers " +
               std::to_string(n_layers) + ", n_heads " + std::to_string(n_heads) + ", n_kv_heads " +
               std::to_string(n_kv_heads) + ", vocab_size " + std::to_string(vocab_size) +
               (shared_classifier ? " (shared classifier)" : " (separate classifier)") + ", seq_len " +
               std::to_string(seq_len);
    }
};

/// One transformer block. Matrices are [out][in] as in the file, so y = x · Wᵀ for a row x.
struct llama_layer {
    vector<float> rms_att;  ///< [dim] attention RMSNorm gain
    vector<float> rms_ffn;  ///< [dim] MLP RMSNorm gain
    matrix<float> wq;       ///< [dim, dim]
    matrix<float> wk;       ///< [kv_dim, dim]
    matrix<float> wv;       ///< [kv_dim, dim]
    matrix<float> wo;       ///< [dim, dim]
    matrix<float> w1;       ///< [hidden_dim, dim] gate projection (through SiLU)
    matrix<float> w2;       ///< [dim, hidden_dim] down projection
    matrix<float> w3;       ///< [hidden_dim, dim] up projection
};

/// A whole model. The RoPE tables of the file are not kept: they are checked against theta 10000
/// when read and recomputed by the transformer.
struct llama_weights {
    llama_config config;
    matrix<float> token_embedding;  ///< [vocab_size, dim]
    std::vector<llama_layer> layers;
    vector<float> rms_final;  ///< [dim]
    matrix<float> classifier;  ///< [vocab_size, dim]; empty when config.shared_classifier

    /// The matrix the logits are computed with: token_embedding when shared, else classifier.
    const matrix<float>& output_classifier() const { return config.shared_classifier ? token_embedding : classifier; }

    /// Throws std::invalid_argument when the config is invalid or an array's shape disagrees with it.
    void validate() const;
};

namespace detail {

struct config_problem {
    std::string field;
    std::string problem;
};

inline std::optional<config_problem> find_config_problem(const llama_config& c) {
    const std::array<std::pair<const char*, int>, 7> sizes{{{"dim", c.dim},
                                                            {"hidden_dim", c.hidden_dim},
                                                            {"n_layers", c.n_layers},
                                                            {"n_heads", c.n_heads},
                                                            {"n_kv_heads", c.n_kv_heads},
                                                            {"vocab_size", c.vocab_size},
                                                            {"seq_len", c.seq_len}}};
    for (const auto& [name, value] : sizes)
        if (value <= 0) return config_problem{name, "expected a positive value, found " + std::to_string(value)};
    if (c.dim % c.n_heads != 0)
        return config_problem{"n_heads", "expected a divisor of dim = " + std::to_string(c.dim) + ", found " +
                                             std::to_string(c.n_heads)};
    if (c.n_heads % c.n_kv_heads != 0)
        return config_problem{"n_kv_heads", "expected a divisor of n_heads = " + std::to_string(c.n_heads) +
                                                ", found " + std::to_string(c.n_kv_heads)};
    if (c.head_size() % 2 != 0)
        return config_problem{"n_heads", "expected dim / n_heads (the head size) to be even, as RoPE rotates pairs; "
                                         "found " + std::to_string(c.dim) + " / " + std::to_string(c.n_heads) +
                                             " = " + std::to_string(c.head_size())};
    return std::nullopt;
}

template <class Derived>
std::string shape_mismatch(const char* name, const Eigen::DenseBase<Derived>& m, index_t rows, index_t cols) {
    if (m.rows() == rows && m.cols() == cols) return {};
    return std::string(name) + " is [" + std::to_string(m.rows()) + ", " + std::to_string(m.cols()) + "], expected [" +
           std::to_string(rows) + ", " + std::to_string(cols) + "]";
}

// Reads `count` float32 values of array `array`, block `layer`, into `out`, rejecting non-finite ones.
inline void read_floats(io::detail::file_reader& reader, const std::filesystem::path& path,
                        const checkpoint_array& array, std::uint64_t layer, float* out) {
    const std::uint64_t count = array.rows * array.cols;
    const auto bytes = std::as_writable_bytes(std::span(out, count));
    reader.read(array.offset + layer * count * 4, bytes, array.name);
    if constexpr (std::endian::native == std::endian::big) io::detail::swap_elements(bytes, 4);
    for (std::uint64_t i = 0; i < count; ++i) {
        if (std::isfinite(out[i])) continue;
        const std::string where = (array.layers > 1 ? "layer " + std::to_string(layer) + ", " : std::string()) +
                                  "element (" + std::to_string(i / array.cols) + ", " + std::to_string(i % array.cols) + ")";
        throw io::io_error(path, array.name, where + " is " + std::to_string(out[i]) + "; expected finite float32 weights");
    }
}

}  // namespace detail

inline void llama_config::validate() const {
    if (const auto problem = detail::find_config_problem(*this))
        throw std::invalid_argument("llama_config: " + problem->field + ": " + problem->problem);
}

inline void llama_weights::validate() const {
    config.validate();
    const index_t dim = config.dim, hidden = config.hidden_dim, kv_dim = config.kv_dim(), vocab = config.vocab_size;
    std::string problem = detail::shape_mismatch("token_embedding", token_embedding, vocab, dim);
    if (problem.empty() && layers.size() != static_cast<std::size_t>(config.n_layers))
        problem = "layers has " + std::to_string(layers.size()) + " entries, expected n_layers = " + std::to_string(config.n_layers);
    for (std::size_t l = 0; problem.empty() && l < layers.size(); ++l) {
        const auto& layer = layers[l];
        for (const auto& candidate : {detail::shape_mismatch("rms_att", layer.rms_att, dim, 1),
                                      detail::shape_mismatch("rms_ffn", layer.rms_ffn, dim, 1),
                                      detail::shape_mismatch("wq", layer.wq, dim, dim),
                                      detail::shape_mismatch("wk", layer.wk, kv_dim, dim),
                                      detail::shape_mismatch("wv", layer.wv, kv_dim, dim),
                                      detail::shape_mismatch("wo", layer.wo, dim, dim),
                                      detail::shape_mismatch("w1", layer.w1, hidden, dim),
                                      detail::shape_mismatch("w2", layer.w2, dim, hidden),
                                      detail::shape_mismatch("w3", layer.w3, hidden, dim)})
            if (problem.empty() && !candidate.empty()) problem = "layer " + std::to_string(l) + ": " + candidate;
    }
    if (problem.empty()) problem = detail::shape_mismatch("rms_final", rms_final, dim, 1);
    if (problem.empty()) {
        if (config.shared_classifier && classifier.size() != 0)
            problem = "classifier is set but config.shared_classifier says the logits use token_embedding";
        else if (!config.shared_classifier)
            problem = detail::shape_mismatch("classifier", classifier, vocab, dim);
    }
    if (!problem.empty()) throw std::invalid_argument("llama_weights: " + problem + " (config: " + config.describe() + ")");
}

/// Reads a llama2.c legacy (v0) checkpoint: 7 little-endian int32 (dim, hidden_dim, n_layers,
/// n_heads, n_kv_heads, vocab_size, seq_len; vocab_size < 0 means a separate classifier), then
/// float32 arrays token_embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final,
/// freq_cis_real, freq_cis_imag [, classifier].
///
/// Everything is checked before it is trusted: the header values (positive, n_heads | dim,
/// n_kv_heads | n_heads, even head size), the file size (exactly 28 + 4·Σ array sizes; a short file
/// names the first array it cuts), every weight finite, and the RoPE tables equal to theta 10000
/// (the only RoPE the transformer computes). Any problem throws io::io_error naming the file, the
/// field and what was expected.
inline llama_weights read_llama2c_checkpoint(const std::filesystem::path& path) {
    io::detail::file_reader reader(path);
    if (reader.size() < detail::checkpoint_header_bytes)
        throw io::io_error(path, "header",
                           "expected 7 int32 values (28 bytes), the file has only " + std::to_string(reader.size()) + " bytes");
    std::array<std::byte, detail::checkpoint_header_bytes> header{};
    reader.read(0, header, "header");
    std::array<std::int32_t, 7> value{};
    for (std::size_t i = 0; i < value.size(); ++i) value[i] = io::detail::load_le<std::int32_t>(header.data() + 4 * i);

    llama_weights w;
    auto& c = w.config;
    c.dim = value[0];
    c.hidden_dim = value[1];
    c.n_layers = value[2];
    c.n_heads = value[3];
    c.n_kv_heads = value[4];
    // The sign of vocab_size carries the classifier flag; its magnitude must still fit an int.
    if (value[5] == std::numeric_limits<std::int32_t>::min())
        throw io::io_error(path, "vocab_size", "expected a non-zero value of magnitude below 2^31, found " + std::to_string(value[5]));
    c.shared_classifier = value[5] > 0;
    c.vocab_size = value[5] < 0 ? -value[5] : value[5];
    c.seq_len = value[6];
    if (const auto problem = detail::find_config_problem(c)) throw io::io_error(path, problem->field, problem->problem);

    const auto layout = detail::checkpoint_layout(c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size,
                                                  c.seq_len, c.shared_classifier);
    if (!layout)
        throw io::io_error(path, "header", "the array sizes of " + c.describe() + " overflow a 64-bit byte count");
    const std::uint64_t expected = layout->back().offset + layout->back().bytes;
    if (reader.size() < expected) {
        for (const auto& array : *layout)
            if (array.offset + array.bytes > reader.size())
                throw io::io_error(path, array.name,
                                   "the file is truncated: this array needs bytes [" + std::to_string(array.offset) + ", " +
                                       std::to_string(array.offset + array.bytes) + ") but the file has only " +
                                       std::to_string(reader.size()) + " bytes (expected " + std::to_string(expected) +
                                       " for " + c.describe() + ")");
    }
    if (reader.size() != expected)
        throw io::io_error(path, "file size",
                           "expected exactly " + std::to_string(expected) + " bytes for " + c.describe() + ", found " +
                               std::to_string(reader.size()) + " (" + std::to_string(reader.size() - expected) +
                               " bytes too many): the header does not describe this file");

    const auto& arrays = *layout;
    w.token_embedding.resize(c.vocab_size, c.dim);
    detail::read_floats(reader, path, arrays[detail::token_embedding_array], 0, w.token_embedding.data());
    w.layers.resize(static_cast<std::size_t>(c.n_layers));
    for (std::size_t l = 0; l < w.layers.size(); ++l) {
        auto& layer = w.layers[l];
        layer.rms_att.resize(c.dim);
        layer.wq.resize(c.dim, c.dim);
        layer.wk.resize(c.kv_dim(), c.dim);
        layer.wv.resize(c.kv_dim(), c.dim);
        layer.wo.resize(c.dim, c.dim);
        layer.rms_ffn.resize(c.dim);
        layer.w1.resize(c.hidden_dim, c.dim);
        layer.w2.resize(c.dim, c.hidden_dim);
        layer.w3.resize(c.hidden_dim, c.dim);
        detail::read_floats(reader, path, arrays[detail::rms_att_array], l, layer.rms_att.data());
        detail::read_floats(reader, path, arrays[detail::wq_array], l, layer.wq.data());
        detail::read_floats(reader, path, arrays[detail::wk_array], l, layer.wk.data());
        detail::read_floats(reader, path, arrays[detail::wv_array], l, layer.wv.data());
        detail::read_floats(reader, path, arrays[detail::wo_array], l, layer.wo.data());
        detail::read_floats(reader, path, arrays[detail::rms_ffn_array], l, layer.rms_ffn.data());
        detail::read_floats(reader, path, arrays[detail::w1_array], l, layer.w1.data());
        detail::read_floats(reader, path, arrays[detail::w2_array], l, layer.w2.data());
        detail::read_floats(reader, path, arrays[detail::w3_array], l, layer.w3.data());
    }
    w.rms_final.resize(c.dim);
    detail::read_floats(reader, path, arrays[detail::rms_final_array], 0, w.rms_final.data());

    // The transformer computes RoPE with theta 10000; a file exported with another theta would give
    // silently wrong logits, so its tables must match. Float32 exports agree to ~1e-4 even at
    // position 4096; another theta differs by O(1) at some (position, pair).
    const int pairs = c.head_size() / 2;
    std::vector<float> table(static_cast<std::size_t>(c.seq_len) * static_cast<std::size_t>(pairs));
    for (std::size_t part = 0; part < 2; ++part) {
        const auto& spec = arrays[detail::freq_cis_real_array + part];
        detail::read_floats(reader, path, spec, 0, table.data());
        for (int pos = 0; pos < c.seq_len; ++pos)
            for (int i = 0; i < pairs; ++i) {
                const double angle = detail::rope_angle(pos, i, c.head_size());
                const double want = part == 0 ? std::cos(angle) : std::sin(angle);
                const float found = table[static_cast<std::size_t>(pos) * static_cast<std::size_t>(pairs) + static_cast<std::size_t>(i)];
                if (std::abs(found - want) > 1e-2)
                    throw io::io_error(path, spec.name,
                                       "element (" + std::to_string(pos) + ", " + std::to_string(i) + ") is " + std::to_string(found) +
                                           ", expected " + (part == 0 ? "cos" : "sin") + "(pos · 10000^(-2i/head_size)) = " +
                                           std::to_string(want) + ": only RoPE theta 10000 is supported");
            }
    }
    if (!c.shared_classifier) {
        w.classifier.resize(c.vocab_size, c.dim);
        detail::read_floats(reader, path, arrays[detail::classifier_array], 0, w.classifier.data());
    }
    return w;
}

}  // namespace sparse_distill::lm
