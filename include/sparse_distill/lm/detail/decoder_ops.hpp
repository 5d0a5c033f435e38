#pragma once
// The per-token operations of a decoder block that are not plain matrix products, for any scalar
// type and every family the decoder runs: LayerNorm, RMSNorm, rotary embedding with either pairing,
// causal attention (grouped, scaled or not, global or windowed) and the MLP. Rows are tokens, B
// sequences of T tokens stacked sequence-major (row b·T + t is token t of sequence b).
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/config.hpp"
#include "sparse_distill/lm/decoder_config.hpp"
#include "sparse_distill/nn/activation.hpp"
#include "sparse_distill/nn/mlp_weights.hpp"
#include "sparse_distill/tensor/matrix.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace sparse_distill::lm::detail {

// LayerNorm, as torch computes it: out_r = (x_r − mean_r)/√(var_r + eps)·gain + bias with the biased
// variance; RMSNorm: out_r = x_r/√(mean(x_r²) + eps)·gain. Rows are independent.
// With `in_float32` (transformers' Llama RMSNorm) x/√(mean(x²) + eps) is computed in float32 and
// cast back before the gain multiplies it.
template <class Scalar>
void normalize_rows(const matrix<Scalar>& x, norm_kind kind, double eps, const vector<Scalar>& gain,
                    const vector<Scalar>& bias, matrix<Scalar>& out, bool in_float32 = false) {
    out.resize(x.rows(), x.cols());
    if constexpr (!std::is_same_v<Scalar, float>) {
        if (in_float32 && kind == norm_kind::rms_norm) {
            const float inv_dim_f = 1.0f / static_cast<float>(x.cols());
#pragma omp parallel for schedule(static) if (x.rows() > 512)
            for (index_t r = 0; r < x.rows(); ++r) {
                const Eigen::RowVectorXf row = x.row(r).template cast<float>();
                const float scale = 1.0f / std::sqrt(row.squaredNorm() * inv_dim_f + static_cast<float>(eps));
                out.row(r) = (row * scale).template cast<Scalar>().cwiseProduct(gain.transpose());
            }
            return;
        }
    }
    const Scalar inv_dim = Scalar(1) / static_cast<Scalar>(x.cols());
    const auto epsilon = static_cast<Scalar>(eps);
#pragma omp parallel for schedule(static) if (x.rows() > 512)
    for (index_t r = 0; r < x.rows(); ++r) {
        if (kind == norm_kind::rms_norm) {
            const Scalar scale = Scalar(1) / std::sqrt(x.row(r).squaredNorm() * inv_dim + epsilon);
            out.row(r) = (x.row(r) * scale).cwiseProduct(gain.transpose());
        } else {
            const Scalar mean = x.row(r).sum() * inv_dim;
            const auto centred = (x.row(r).array() - mean).matrix();
            const Scalar variance = centred.squaredNorm() * inv_dim;
            const Scalar scale = Scalar(1) / std::sqrt(variance + epsilon);
            out.row(r) = (centred * scale).cwiseProduct(gain.transpose()) + bias.transpose();
        }
    }
}

// cos and sin of the rotary angle pos·θ^(−2i/head_dim) for pair i, [seq_len, head_dim/2], computed
// in double.
template <class Scalar>
struct rotary_table {
    matrix<Scalar> cos, sin;

    rotary_table() = default;
    rotary_table(int seq_len, int head_dim, double theta) : cos(seq_len, head_dim / 2), sin(seq_len, head_dim / 2) {
        for (int i = 0; i < head_dim / 2; ++i) {
            const double inv_freq = std::pow(theta, -2.0 * i / head_dim);
            for (int pos = 0; pos < seq_len; ++pos) {
                cos(pos, i) = static_cast<Scalar>(std::cos(pos * inv_freq));
                sin(pos, i) = static_cast<Scalar>(std::sin(pos * inv_freq));
            }
        }
    }
};

// Rotates every head of every row by the angle of the row's position first_position + (row mod T):
// the pair (a, b) → (a·cos − b·sin, a·sin + b·cos), with (a, b) = (2i, 2i+1) or (i, i + head_dim/2).
template <class Scalar>
void apply_rotary(matrix<Scalar>& m, index_t seq_length, index_t first_position, int head_dim, rope_pairing pairing,
                  const rotary_table<Scalar>& table) {
    const index_t pairs = head_dim / 2;
    const index_t heads = m.cols() / head_dim;
    const index_t stride = pairing == rope_pairing::interleaved ? 1 : pairs;
    const index_t step = pairing == rope_pairing::interleaved ? 2 : 1;
#pragma omp parallel for schedule(static) if (m.rows() > 512)
    for (index_t r = 0; r < m.rows(); ++r) {
        const index_t pos = first_position + r % seq_length;
        Scalar* row = m.row(r).data();
        for (index_t h = 0; h < heads; ++h)
            for (index_t i = 0; i < pairs; ++i) {
                Scalar* a = row + h * head_dim + step * i;
                Scalar* b = a + stride;
                const Scalar c = table.cos(pos, i), s = table.sin(pos, i);
                const Scalar x = *a, y = *b;
                *a = x * c - y * s;
                *b = x * s + y * c;
            }
    }
}

// Softmax of each row t of scores [T, keys] over its visible columns — the keys j ≤ p of the query at
// position p = first_position + t, and also j > p − window when window > 0 — the other columns 0.
template <class Scores>
void masked_softmax_rows(Scores& scores, index_t first_position, int window) {
    using Scalar = typename Scores::Scalar;
    const index_t keys = scores.cols();
    for (index_t t = 0; t < scores.rows(); ++t) {
        const index_t p = first_position + t;
        const index_t first = window > 0 ? std::max<index_t>(0, p - window + 1) : 0;
        auto row = scores.row(t);
        auto visible = row.segment(first, p + 1 - first);
        const Scalar max = visible.maxCoeff();
        visible = (visible.array() - max).exp().matrix();
        visible /= visible.sum();
        row.head(first).setZero();
        row.tail(keys - p - 1).setZero();
    }
}

// Causal grouped-query attention of the T queries of each sequence, at positions first_position ..
// first_position + T − 1, over the keys and values of positions 0 .. first_position + T − 1:
//   out[b·T + t, head h] = Σ_j softmax_j(scale·q_t·k_j) v_j over the visible j (masked_softmax_rows).
// Query head h reads key/value head h / (n_heads / n_kv_heads). q, out: [B·T, n_heads·head_dim];
// k, v: [B·kv_rows, kv_dim] with position j of sequence b in row b·kv_rows + j (kv_rows = T for a
// whole batch, the cache's length with a key/value cache).
template <class Scalar>
void causal_attention(const matrix<Scalar>& q, const matrix<Scalar>& k, const matrix<Scalar>& v, index_t batch,
                      index_t seq_length, index_t first_position, index_t kv_rows, int n_heads, int n_kv_heads, int head_dim,
                      Scalar scale, int window, matrix<Scalar>& out) {
    out.resize(q.rows(), q.cols());
    const int group = n_heads / n_kv_heads;
    const index_t T = seq_length, keys = first_position + seq_length;
    // One task per (sequence, head): each reads its own blocks and writes a disjoint block of `out`,
    // so no synchronisation is needed, and B·n_heads tasks keep every thread busy even for a single
    // sequence. The products inside run serially (Eigen does not nest inside a parallel region). One
    // token at a time (generation) is too little work to be worth waking the threads.
#pragma omp parallel if (batch * n_heads * T * keys * head_dim > 65536)
    {
        matrix<Scalar> scores;
#pragma omp for schedule(static)
        for (index_t task = 0; task < batch * n_heads; ++task) {
            const index_t b = task / n_heads, h = task % n_heads, kv = h / group;
            const auto q_block = q.block(b * T, h * head_dim, T, head_dim);
            const auto k_block = k.block(b * kv_rows, kv * head_dim, keys, head_dim);
            const auto v_block = v.block(b * kv_rows, kv * head_dim, keys, head_dim);
            scores.noalias() = (q_block * k_block.transpose()) * scale;
            masked_softmax_rows(scores, first_position, window);
            out.block(b * T, h * head_dim, T, head_dim).noalias() = scores * v_block;
        }
    }
}

// The hidden activations of mlp_weights on rows x [N, d_model]: act(x·w_inᵀ + b_in), ⊙ x·w_upᵀ when
// gated → [N, d_mlp].
template <class Scalar>
matrix<Scalar> mlp_hidden_apply(const mlp_weights<Scalar>& w, const matrix<Scalar>& x) {
    matrix<Scalar> hidden(x.rows(), w.d_mlp());
    hidden.noalias() = x * w.w_in.transpose();
    if (w.b_in.size() != 0) hidden.rowwise() += w.b_in.transpose();
    const activation act = w.act;
    hidden = hidden.unaryExpr([act](Scalar z) { return activate(act, z); });
    if (w.gated()) {
        matrix<Scalar> up(x.rows(), w.d_mlp());
        up.noalias() = x * w.w_up.transpose();
        hidden.array() *= up.array();
    }
    return hidden;
}

// The MLP of mlp_weights on rows x [N, d_model]: mlp_hidden_apply, then ·w_out + b_out → [N, d_model].
template <class Scalar>
matrix<Scalar> mlp_apply(const mlp_weights<Scalar>& w, const matrix<Scalar>& x) {
    const matrix<Scalar> hidden = mlp_hidden_apply(w, x);
    matrix<Scalar> out(x.rows(), w.d_model());
    out.noalias() = hidden * w.w_out;
    if (w.b_out.size() != 0) out.rowwise() += w.b_out.transpose();
    return out;
}

}  // namespace sparse_distill::lm::detail
