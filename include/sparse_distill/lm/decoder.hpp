#pragma once
// A decoder-only transformer on the CPU for GPT-2, GPT-Neo and Llama-family models, in float or
// double, batched: B sequences of T tokens are stacked into one [B·T, dim] matrix so every
// projection and the MLP is a single Eigen product. The same MLP hooks as the llama2.c transformer
// let a caller read every layer's MLP input and output or replace an MLP.
//
// Per layer, pre-norm as all three families are:
//   x += attention(norm₁(x)) W_oᵀ + b_o          queries/keys rotated (RoPE) or positions learned
//   x += MLP(norm₂(x))                           the MLP input is norm₂'s output (transformer_lens
//                                                 blocks.L.ln2.hook_normalized), its output hook_mlp_out
// then logits = norm_f(x) · W_headᵀ, with W_head the token embedding when tied.
#include "../config.hpp"
#include "sparse_distill/lm/decoder_config.hpp"
#include "sparse_distill/lm/decoder_weights.hpp"
#include "sparse_distill/lm/detail/decoder_ops.hpp"
#include "sparse_distill/lm/detail/token_batches.hpp"
#include "sparse_distill/lm/forward_hooks.hpp"
#include "sparse_distill/nn/mlp_weights.hpp"
#include "sparse_distill/tensor/matrix.hpp"

#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sparse_distill::lm {

template <class Scalar>
class decoder_transformer {
public:
    using scalar_type = Scalar;
    using hooks_type = basic_forward_hooks<Scalar>;

    /// Takes the weights (validated: std::invalid_argument when a shape disagrees with the config).
    explicit decoder_transformer(decoder_weights<Scalar> weights) : weights_(std::move(weights)) {
        weights_.validate();
        const auto& c = weights_.config;
        if (c.rope != rope_pairing::none) rotary_ = detail::rotary_table<Scalar>(c.seq_len, c.head_dim, c.rope_theta);
    }

    const decoder_config& config() const { return weights_.config; }
    const decoder_weights<Scalar>& weights() const { return weights_; }

    /// Layer `layer`'s MLP (std::out_of_range outside [0, n_layers)): the teacher to distil.
    const mlp_weights<Scalar>& mlp(int layer) const { return weights_.layers.at(checked_layer(layer)).mlp; }

    /// Layer `layer`'s hidden activations on rows x [N, dim] (already normalised): act(x·W_inᵀ + b_in),
    /// times x·W_upᵀ when gated → [N, hidden_dim].
    matrix<Scalar> mlp_hidden(int layer, const matrix<Scalar>& x) const {
        check_width(x, "mlp_hidden");
        return detail::mlp_hidden_apply(mlp(layer), x);
    }

    /// Layer `layer`'s MLP on rows x [N, dim] (already normalised) → [N, dim].
    matrix<Scalar> mlp_forward(int layer, const matrix<Scalar>& x) const {
        check_width(x, "mlp_forward");
        return detail::mlp_apply(mlp(layer), x);
    }

    /// Logits of every position, [B·T, vocab_size], row b·T + t for token t of sequence b. All
    /// sequences must have the same length 1 ≤ T ≤ seq_len and ids below vocab_size (std::invalid_argument).
    matrix<Scalar> logits(const std::vector<std::vector<int>>& sequences, const hooks_type& hooks = {}) const {
        const matrix<Scalar> final_state = forward(sequences, hooks);
        matrix<Scalar> out(final_state.rows(), config().vocab_size);
        out.noalias() = final_state * weights_.output_matrix().transpose();
        return out;
    }

    /// Mean next-token cross-entropy in nats over all B·(T−1) predictions (see token_batches.hpp);
    /// needs T ≥ 2. Holds all B·T·vocab logits at once, so split large inputs into several calls.
    double next_token_loss(const std::vector<std::vector<int>>& sequences, const hooks_type& hooks = {}) const {
        detail::require_next_token(sequences);
        return detail::mean_next_token_loss(logits(sequences, hooks), sequences);
    }

    /// Runs the blocks up to and including `last_layer` only, for the hooks (harvesting needs no
    /// logits: the output matrix alone is vocab·dim per token, 50257·768 for GPT-2).
    void run_hooks_through(const std::vector<std::vector<int>>& sequences, const hooks_type& hooks, int last_layer) const {
        (void)forward(sequences, hooks, static_cast<int>(checked_layer(last_layer)));
    }

    /// Greedy decoding: appends `steps` tokens to `prompt`, each the argmax (the lowest id on ties)
    /// of the logits after the sequence so far, and returns prompt followed by them. Keeps a
    /// key/value cache, so each step runs the new token only; hooks see the prompt's rows, then one
    /// row per step. Needs a non-empty prompt and prompt.size() + steps − 1 ≤ seq_len. It does not
    /// stop at an end-of-text token.
    std::vector<int> generate_greedy(int steps, std::vector<int> prompt, const hooks_type& hooks = {}) const {
        if (steps < 0) throw std::invalid_argument("generate_greedy: steps is " + std::to_string(steps) + ", expected >= 0");
        if (prompt.empty()) throw std::invalid_argument("generate_greedy: empty prompt, expected at least one token (BOS)");
        if (steps > 0 && prompt.size() + static_cast<std::size_t>(steps) - 1 > static_cast<std::size_t>(config().seq_len))
            throw std::invalid_argument("generate_greedy: prompt of " + std::to_string(prompt.size()) + " tokens + " +
                                        std::to_string(steps) + " steps needs " +
                                        std::to_string(prompt.size() + static_cast<std::size_t>(steps) - 1) +
                                        " positions, more than seq_len = " + std::to_string(config().seq_len));
        if (steps == 0) return prompt;
        kv_cache cache(config(), static_cast<index_t>(prompt.size()) + steps - 1);
        std::vector<int> sequence = std::move(prompt);
        matrix<Scalar> state = forward({sequence}, hooks, -1, 0, &cache);
        for (int step = 0; step < steps; ++step) {
            const vector<Scalar> z = weights_.output_matrix() * state.row(state.rows() - 1).transpose();
            index_t best = 0;
            z.maxCoeff(&best);
            sequence.push_back(static_cast<int>(best));
            if (step + 1 < steps)
                state = forward({{sequence.back()}}, hooks, -1, static_cast<index_t>(sequence.size()) - 1, &cache);
        }
        return sequence;
    }

private:
    std::size_t checked_layer(int layer) const {
        if (layer < 0 || layer >= config().n_layers)
            throw std::out_of_range("layer " + std::to_string(layer) + " outside [0, " + std::to_string(config().n_layers) + ")");
        return static_cast<std::size_t>(layer);
    }

    void check_width(const matrix<Scalar>& x, const char* what) const {
        if (x.cols() != config().dim)
            throw std::invalid_argument(std::string(what) + ": input has " + std::to_string(x.cols()) + " columns, expected dim = " +
                                        std::to_string(config().dim));
    }

    // y = x·Wᵀ + b (b may be empty).
    static void project(const matrix<Scalar>& x, const matrix<Scalar>& w, const vector<Scalar>& b, matrix<Scalar>& y) {
        y.resize(x.rows(), w.rows());
        y.noalias() = x * w.transpose();
        if (b.size() != 0) y.rowwise() += b.transpose();
    }

    // Keys and values (after RoPE) of one sequence's positions run so far, per layer [positions,
    // kv_dim], sized for the positions a caller will run.
    struct kv_cache {
        index_t positions;
        std::vector<matrix<Scalar>> keys, values;
        kv_cache(const decoder_config& c, index_t positions_)
            : positions(positions_), keys(static_cast<std::size_t>(c.n_layers), matrix<Scalar>(positions_, c.kv_dim())), values(keys) {}
    };

    // The final normalised residual stream, [B·T, dim], of tokens at positions first_position ..
    // first_position + T − 1. Without a cache first_position is 0 and attention sees this batch only;
    // with one (a single sequence), earlier positions come from the cache and this batch's keys and
    // values join it. With last_layer ≥ 0 the pass stops after that layer's MLP hooks, returning nothing.
    matrix<Scalar> forward(const std::vector<std::vector<int>>& sequences, const hooks_type& hooks, int last_layer = -1,
                           index_t first_position = 0, kv_cache* cache = nullptr) const {
        const auto& c = config();
        const index_t T = detail::check_token_batch(sequences, c.seq_len - static_cast<int>(first_position), c.vocab_size);
        detail::check_replacements(hooks, c.n_layers);
        const auto batch = static_cast<index_t>(sequences.size());
        const index_t rows = batch * T;

        matrix<Scalar> x(rows, c.dim);
        for (index_t b = 0; b < batch; ++b)
            for (index_t t = 0; t < T; ++t) {
                x.row(b * T + t) = weights_.token_embedding.row(sequences[static_cast<std::size_t>(b)][static_cast<std::size_t>(t)]);
                if (c.learned_positions) x.row(b * T + t) += weights_.position_embedding.row(first_position + t);
            }

        matrix<Scalar> normed, q, k, v, attended, projected, mlp_out;
        for (int l = 0; l < c.n_layers; ++l) {
            const auto& w = weights_.layers[static_cast<std::size_t>(l)];
            detail::normalize_rows(x, c.norm, c.norm_eps, w.attn_norm_gain, w.attn_norm_bias, normed, c.norm_in_float32);
            project(normed, w.wq, w.bq, q);
            project(normed, w.wk, w.bk, k);
            project(normed, w.wv, w.bv, v);
            if (c.rope != rope_pairing::none) {
                detail::apply_rotary(q, T, first_position, c.head_dim, c.rope, rotary_);
                detail::apply_rotary(k, T, first_position, c.head_dim, c.rope, rotary_);
            }
            Scalar scale = c.scale_attention ? Scalar(1) / std::sqrt(static_cast<Scalar>(c.head_dim)) : Scalar(1);
            if (c.scale_attention_by_layer) scale /= static_cast<Scalar>(l + 1);
            const int window = c.attention_window[static_cast<std::size_t>(l)];
            if (cache) {
                auto& keys = cache->keys[static_cast<std::size_t>(l)];
                auto& values = cache->values[static_cast<std::size_t>(l)];
                keys.middleRows(first_position, T) = k;
                values.middleRows(first_position, T) = v;
                detail::causal_attention(q, keys, values, 1, T, first_position, cache->positions, c.n_heads, c.n_kv_heads,
                                         c.head_dim, scale, window, attended);
            } else {
                detail::causal_attention(q, k, v, batch, T, 0, T, c.n_heads, c.n_kv_heads, c.head_dim, scale, window, attended);
            }
            project(attended, w.wo, w.bo, projected);
            x += projected;

            detail::normalize_rows(x, c.norm, c.norm_eps, w.mlp_norm_gain, w.mlp_norm_bias, normed, c.norm_in_float32);
            if (const auto it = hooks.replace.find(l); it != hooks.replace.end()) {
                mlp_out.setConstant(rows, c.dim, std::numeric_limits<Scalar>::quiet_NaN());
                it->second(normed, mlp_out);
                detail::check_replacement_output(l, mlp_out, rows, c.dim);
            } else {
                mlp_out = detail::mlp_apply(w.mlp, normed);
            }
            if (hooks.read) hooks.read(l, normed, mlp_out);
            if (l == last_layer) return {};
            x += mlp_out;
        }
        detail::normalize_rows(x, c.norm, c.norm_eps, weights_.final_norm_gain, weights_.final_norm_bias, normed, c.norm_in_float32);
        return normed;
    }

    decoder_weights<Scalar> weights_;
    detail::rotary_table<Scalar> rotary_;
};

}  // namespace sparse_distill::lm
