#pragma once
// Where each array of a llama2.c legacy (v0) checkpoint lies, computed from the header with
// overflow-checked arithmetic: a hostile header must produce an error, never a wrapped size that
// happens to match the file.
#include "../../detail/internal_header_check.hpp"
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace sparse_distill::lm::detail {

/// One float32 array of the file: `layers` blocks of rows × cols, stored contiguously.
struct checkpoint_array {
    std::string name;
    std::uint64_t layers = 1;
    std::uint64_t rows = 0;
    std::uint64_t cols = 0;
    std::uint64_t offset = 0;  // byte offset of the first element
    std::uint64_t bytes = 0;   // layers · rows · cols · 4
};

inline std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) {
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::nullopt;
    return a * b;
}

inline std::optional<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b) {
    if (b > std::numeric_limits<std::uint64_t>::max() - a) return std::nullopt;
    return a + b;
}

/// Position of each array in checkpoint_layout's result (the file order).
enum checkpoint_array_index : std::size_t {
    token_embedding_array, rms_att_array, wq_array, wk_array, wv_array, wo_array, rms_ffn_array,
    w1_array, w2_array, w3_array, rms_final_array, freq_cis_real_array, freq_cis_imag_array, classifier_array
};

/// Bytes of the 7 × int32 header.
inline constexpr std::uint64_t checkpoint_header_bytes = 7 * 4;

/// The arrays in file order, each with its offset; nullopt when a size overflows 64 bits.
/// Takes the header values as 64-bit numbers, already checked positive and consistent.
inline std::optional<std::vector<checkpoint_array>> checkpoint_layout(std::uint64_t dim, std::uint64_t hidden_dim,
                                                                      std::uint64_t n_layers, std::uint64_t n_heads,
                                                                      std::uint64_t n_kv_heads, std::uint64_t vocab_size,
                                                                      std::uint64_t seq_len, bool shared_classifier) {
    const std::uint64_t head_size = dim / n_heads;
    const std::uint64_t kv_dim = head_size * n_kv_heads;  // ≤ dim, cannot overflow
    std::vector<checkpoint_array> arrays{
        {"token_embedding", 1, vocab_size, dim},
        {"rms_att", n_layers, 1, dim},
        {"wq", n_layers, dim, dim},
        {"wk", n_layers, kv_dim, dim},
        {"wv", n_layers, kv_dim, dim},
        {"wo", n_layers, dim, dim},
        {"rms_ffn", n_layers, 1, dim},
        {"w1", n_layers, hidden_dim, dim},
        {"w2", n_layers, dim, hidden_dim},
        {"w3", n_layers, hidden_dim, dim},
        {"rms_final", 1, 1, dim},
        {"freq_cis_real", 1, seq_len, head_size / 2},
        {"freq_cis_imag", 1, seq_len, head_size / 2},
    };
    // llama2.c writes an unshared classifier after the RoPE tables.
    if (!shared_classifier) arrays.push_back({"classifier", 1, vocab_size, dim});

    std::uint64_t offset = checkpoint_header_bytes;
    for (auto& array : arrays) {
        const auto elements = checked_mul(array.layers, array.rows);
        const auto all = elements ? checked_mul(*elements, array.cols) : std::nullopt;
        const auto bytes = all ? checked_mul(*all, 4) : std::nullopt;
        if (!bytes) return std::nullopt;
        array.offset = offset;
        array.bytes = *bytes;
        const auto next = checked_add(offset, *bytes);
        if (!next) return std::nullopt;
        offset = *next;
    }
    return arrays;
}

}  // namespace sparse_distill::lm::detail
