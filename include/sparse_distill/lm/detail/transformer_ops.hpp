#pragma once
// The per-token operations of the Llama block that are not plain matrix products (RoPE aside, in
// rope.hpp): RMSNorm, causal grouped-query attention and SwiGLU's gate. Rows are tokens, B
// sequences of T tokens stacked sequence-major (row b·T + t is token t of sequence b).
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/config.hpp"
#include "sparse_distill/tensor/matrix.hpp"

#include <cmath>

namespace sparse_distill::lm::detail {

inline constexpr float rms_norm_eps = 1e-5f;

// out_r = gain ⊙ x_r / sqrt(mean(x_r²) + eps), one row at a time.
inline void rms_norm(const matrix<float>& x, const vector<float>& gain, matrix<float>& out) {
    out.resize(x.rows(), x.cols());
    const float inv_dim = 1.0f / static_cast<float>(x.cols());
    // Rows are independent; small batches (generation) stay on one thread.
#pragma omp parallel for schedule(static) if (x.rows() > 512)
    for (index_t r = 0; r < x.rows(); ++r) {
        const float scale = 1.0f / std::sqrt(x.row(r).squaredNorm() * inv_dim + rms_norm_eps);
        out.row(r) = (x.row(r) * scale).cwiseProduct(gain.transpose());
    }
}

// Causal grouped-query attention of T new queries per sequence at positions first_position ..
// first_position + T − 1, over the keys and values of positions 0 .. first_position + T − 1:
//   out[b·T + t, head h] = Σ_{j ≤ first_position + t} softmax_j(q_t · k_j / √head_size) v_j,
// where query head h reads key/value head h / (n_heads / n_kv_heads). q, out: [B·T, n_heads·head_size];
// k, v: [B·kv_rows, kv_dim] with position j of sequence b in row b·kv_rows + j (kv_rows = T for a
// whole batch, the cache's length for a key/value cache).
inline void causal_attention(const matrix<float>& q, const matrix<float>& k, const matrix<float>& v, index_t batch,
                             index_t seq_length, index_t first_position, index_t kv_rows, int n_heads, int n_kv_heads,
                             int head_size, matrix<float>& out) {
    out.resize(q.rows(), q.cols());
    const int group = n_heads / n_kv_heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_size));
    const index_t T = seq_length, keys = first_position + seq_length;
    // One task per (sequence, head): each reads its own blocks and writes a disjoint block of
    // `out`, so no synchronisation is needed, and B·n_heads tasks (8 per sequence for stories260K)
    // keep every thread busy even for a single sequence. The matrix products inside run serially
    // (Eigen does not nest inside a parallel region). One token at a time (generation) is too
    // little work to be worth waking the threads.
#pragma omp parallel if (batch * n_heads * T * keys * head_size > 65536)
    {
        matrix<float> scores;
#pragma omp for schedule(static)
        for (index_t task = 0; task < batch * n_heads; ++task) {
            const index_t b = task / n_heads;
            const index_t h = task % n_heads;
            const index_t kv = h / group;
            const auto q_block = q.block(b * T, h * head_size, T, head_size);
            const auto k_block = k.block(b * kv_rows, kv * head_size, keys, head_size);
            const auto v_block = v.block(b * kv_rows, kv * head_size, keys, head_size);
            scores.noalias() = (q_block * k_block.transpose()) * scale;
            for (index_t t = 0; t < T; ++t) {
                const index_t visible = first_position + t + 1;
                auto row = scores.row(t).head(visible);
                const float max = row.maxCoeff();
                row = (row.array() - max).exp().matrix();
                row /= row.sum();
                scores.row(t).tail(keys - visible).setZero();
            }
            out.block(b * T, h * head_size, T, head_size).noalias() = scores * v_block;
        }
    }
}

// silu(a) ⊙ b elementwise, in place in `a`: silu(a) = a / (1 + e^(−a)).
inline void silu_gate(matrix<float>& a, const matrix<float>& b) {
    a = (a.array() / (1.0f + (-a.array()).exp()) * b.array()).matrix();
}

}  // namespace sparse_distill::lm::detail
