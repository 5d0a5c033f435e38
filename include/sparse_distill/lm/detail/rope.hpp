#pragma once
// Rotary position embedding as llama2.c applies it: within each head, the adjacent pair
// (2i, 2i+1) of a query or key at position pos is rotated by pos · 10000^(−2i/head_size).
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/config.hpp"
#include "sparse_distill/tensor/matrix.hpp"

#include <cmath>

namespace sparse_distill::lm::detail {

// Angle of RoPE pair `pair` at position `pos`, in double so tables computed from it agree with any
// float32 computation of it to rounding.
inline double rope_angle(int pos, int pair, int head_size) { return pos * std::pow(10000.0, -2.0 * pair / head_size); }

// cos and sin of rope_angle(pos, i), [seq_len, head_size/2].
struct rope_table {
    matrix<float> cos, sin;

    rope_table() = default;
    rope_table(int seq_len, int head_size) : cos(seq_len, head_size / 2), sin(seq_len, head_size / 2) {
        for (int pos = 0; pos < seq_len; ++pos)
            for (int i = 0; i < head_size / 2; ++i) {
                const double angle = rope_angle(pos, i, head_size);
                cos(pos, i) = static_cast<float>(std::cos(angle));
                sin(pos, i) = static_cast<float>(std::sin(angle));
            }
    }
};

// Rotates the adjacent pairs (2i, 2i+1) of every head of every row by the angle of the row's
// position first_position + (row mod T): (a, b) → (a·cos − b·sin, a·sin + b·cos).
inline void apply_rope(matrix<float>& m, index_t seq_length, index_t first_position, int head_size,
                       const rope_table& table) {
    const index_t pairs = head_size / 2;
    const index_t heads = m.cols() / head_size;
    // Rows are independent; small batches (generation) stay on one thread.
#pragma omp parallel for schedule(static) if (m.rows() > 512)
    for (index_t r = 0; r < m.rows(); ++r) {
        const index_t pos = first_position + r % seq_length;
        float* row = m.row(r).data();
        for (index_t h = 0; h < heads; ++h)
            for (index_t i = 0; i < pairs; ++i) {
                float* pair = row + h * head_size + 2 * i;
                const float c = table.cos(pos, i), s = table.sin(pos, i);
                const float a = pair[0], b = pair[1];
                pair[0] = a * c - b * s;
                pair[1] = a * s + b * c;
            }
    }
}

}  // namespace sparse_distill::lm::detail
