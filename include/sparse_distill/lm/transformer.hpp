#pragma once
// A llama2.c model on the CPU, batched: B sequences of T tokens are stacked into one [B·T, dim]
// matrix so every projection and the MLP is a single Eigen product. MLP hooks let a caller read
// each layer's MLP input and output (to harvest activations) or replace the MLP (to measure the
// language-model loss with a distilled student in its place).
#include "../config.hpp"
#include "sparse_distill/config.hpp"
#include "sparse_distill/lm/detail/rope.hpp"
#include "sparse_distill/lm/detail/token_batches.hpp"
#include "sparse_distill/lm/detail/transformer_ops.hpp"
#include "sparse_distill/lm/forward_hooks.hpp"
#include "sparse_distill/lm/llama_checkpoint.hpp"
#include "sparse_distill/lm/tokenizer.hpp"
#include "sparse_distill/tensor/matrix.hpp"

#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sparse_distill::lm {

/// The Llama forward pass of llama2.c, per layer:
///   x += Wo · attention(RoPE(Wq·n), RoPE(Wk·n), Wv·n),  n = RMSNorm(x; rms_att)
///   x += W2 (silu(W1 m) ⊙ W3 m),                          m = RMSNorm(x; rms_ffn)
/// then logits = C · RMSNorm(x; rms_final) with C the classifier (token_embedding when shared).
/// RMSNorm(x; g) = g ⊙ x / sqrt(mean(x²) + 1e-5); RoPE rotates pairs (2i, 2i+1) of each head by
/// pos · 10000^(−2i/head_size); attention is causal, softmax(q·k/√head_size), grouped: query head h
/// uses key/value head h / (n_heads / n_kv_heads).
class transformer {
public:
    /// Takes the weights (validated: std::invalid_argument when a shape disagrees with the config).
    explicit transformer(llama_weights weights) : weights_(std::move(weights)) {
        weights_.validate();
        rope_ = detail::rope_table(weights_.config.seq_len, weights_.config.head_size());
    }

    const llama_config& config() const { return weights_.config; }
    const llama_weights& weights() const { return weights_; }
    /// Layer `layer`'s weights (std::out_of_range outside [0, n_layers)).
    const llama_layer& layer(int layer) const { return weights_.layers.at(checked_layer(layer, "layer")); }

    /// Logits of every position, [B·T, vocab_size], row b·T + t for token t of sequence b. All
    /// sequences must have the same length 1 ≤ T ≤ seq_len and valid ids (std::invalid_argument).
    matrix<float> logits(const std::vector<std::vector<int>>& sequences, const forward_hooks& hooks = {}) const {
        const matrix<float> final_state = forward(sequences, hooks);
        matrix<float> out(final_state.rows(), config().vocab_size);
        out.noalias() = final_state * weights_.output_classifier().transpose();
        return out;
    }

    /// Mean next-token cross-entropy in nats over all B·(T−1) predictions:
    ///   loss = 1/(B(T−1)) Σ_b Σ_{t<T−1} [logsumexp(z_{b,t}) − z_{b,t}[s_b[t+1]]]
    /// with z_{b,t} the logits after positions ≤ t, accumulated in double. Needs T ≥ 2. Holds
    /// all B·T·vocab logits at once, so split very large inputs into several calls.
    double next_token_loss(const std::vector<std::vector<int>>& sequences, const forward_hooks& hooks = {}) const {
        detail::require_next_token(sequences);
        return detail::mean_next_token_loss(logits(sequences, hooks), sequences);
    }

    /// Greedy decoding: appends `steps` tokens to `prompt`, each the argmax (the lowest id on ties)
    /// of the logits after the sequence so far, and returns prompt followed by them. Keeps a
    /// key/value cache, so each step runs the new token only; hooks see the prompt's rows, then one
    /// row per step. Needs a non-empty prompt and prompt.size() + steps − 1 ≤ seq_len. Unlike
    /// llama2.c's run loop it does not stop at BOS.
    std::vector<int> generate_greedy(int steps, std::vector<int> prompt = {tokenizer::bos},
                                     const forward_hooks& hooks = {}) const {
        if (steps < 0) throw std::invalid_argument("generate_greedy: steps is " + std::to_string(steps) + ", expected >= 0");
        if (prompt.empty()) throw std::invalid_argument("generate_greedy: empty prompt, expected at least one token (BOS)");
        if (steps > 0 && prompt.size() + static_cast<std::size_t>(steps) - 1 > static_cast<std::size_t>(config().seq_len))
            throw std::invalid_argument("generate_greedy: prompt of " + std::to_string(prompt.size()) + " tokens + " +
                                        std::to_string(steps) + " steps needs " +
                                        std::to_string(prompt.size() + static_cast<std::size_t>(steps) - 1) +
                                        " positions, more than seq_len = " + std::to_string(config().seq_len));
        if (steps == 0) return prompt;
        kv_cache cache(config(), 1, static_cast<index_t>(prompt.size()) + steps - 1);
        std::vector<int> sequence = std::move(prompt);
        matrix<float> state = forward({sequence}, hooks, 0, &cache);
        for (int step = 0; step < steps; ++step) {
            const vector<float> z = weights_.output_classifier() * state.row(state.rows() - 1).transpose();
            index_t best = 0;
            z.maxCoeff(&best);
            sequence.push_back(static_cast<int>(best));
            if (step + 1 < steps)
                state = forward({{sequence.back()}}, hooks, static_cast<index_t>(sequence.size()) - 1, &cache);
        }
        return sequence;
    }

    /// The gated hidden activations of layer `layer`'s MLP, h = silu(x W1ᵀ) ⊙ (x W3ᵀ),
    /// x [N, dim] (already RMS-normalised) → [N, hidden_dim].
    matrix<float> mlp_hidden(int layer, const matrix<float>& x) const {
        const auto& w = weights_.layers[checked_layer(layer, "mlp_hidden")];
        check_width(x, "mlp_hidden");
        matrix<float> gate(x.rows(), config().hidden_dim), up(x.rows(), config().hidden_dim);
        gate.noalias() = x * w.w1.transpose();
        up.noalias() = x * w.w3.transpose();
        detail::silu_gate(gate, up);
        return gate;
    }

    /// Layer `layer`'s true SwiGLU MLP, y = (silu(x W1ᵀ) ⊙ (x W3ᵀ)) W2ᵀ, x [N, dim] → [N, dim]:
    /// the teacher to distil.
    matrix<float> mlp_forward(int layer, const matrix<float>& x) const {
        const matrix<float> hidden = mlp_hidden(layer, x);
        matrix<float> out(x.rows(), config().dim);
        out.noalias() = hidden * weights_.layers[static_cast<std::size_t>(layer)].w2.transpose();
        return out;
    }

    /// Runs the blocks up to and including `last_layer` only, for the hooks (harvesting needs no logits).
    void run_hooks_through(const std::vector<std::vector<int>>& sequences, const forward_hooks& hooks, int last_layer) const {
        (void)forward(sequences, hooks, 0, nullptr, static_cast<int>(checked_layer(last_layer, "run_hooks_through")));
    }

private:
    std::size_t checked_layer(int layer, const char* what) const {
        if (layer < 0 || layer >= config().n_layers)
            throw std::out_of_range(std::string(what) + ": layer " + std::to_string(layer) + " outside [0, " +
                                    std::to_string(config().n_layers) + ")");
        return static_cast<std::size_t>(layer);
    }

    void check_width(const matrix<float>& x, const char* what) const {
        if (x.cols() != config().dim)
            throw std::invalid_argument(std::string(what) + ": input has " + std::to_string(x.cols()) +
                                        " columns, expected dim = " + std::to_string(config().dim));
    }

    index_t check_sequences(const std::vector<std::vector<int>>& sequences) const {
        return detail::check_token_batch(sequences, config().seq_len, config().vocab_size);
    }

    // Keys and values (after RoPE) of the positions run so far, per layer [B·positions, kv_dim],
    // position j of sequence b in row b·positions + j; sized for the positions a caller will run.
    struct kv_cache {
        index_t positions;
        std::vector<matrix<float>> keys, values;
        kv_cache(const llama_config& c, index_t batch, index_t positions_)
            : positions(positions_),
              keys(static_cast<std::size_t>(c.n_layers), matrix<float>(batch * positions_, c.kv_dim())),
              values(keys) {}
    };

    // The final RMS-normalised residual stream, [B·T, dim], of tokens at positions first_position ..
    // first_position + T − 1. Without a cache first_position is 0 and attention sees this batch
    // only; with one, earlier positions come from the cache and this batch's keys/values join it.
    // With last_layer ≥ 0 the pass stops after that layer's MLP hooks and returns nothing.
    matrix<float> forward(const std::vector<std::vector<int>>& sequences, const forward_hooks& hooks,
                          index_t first_position = 0, kv_cache* cache = nullptr, int last_layer = -1) const {
        const index_t T = check_sequences(sequences);
        detail::check_replacements(hooks, config().n_layers);
        const auto& c = config();
        const auto batch = static_cast<index_t>(sequences.size());
        const index_t rows = batch * T;

        matrix<float> x(rows, c.dim);
        for (index_t b = 0; b < batch; ++b)
            for (index_t t = 0; t < T; ++t)
                x.row(b * T + t) = weights_.token_embedding.row(sequences[static_cast<std::size_t>(b)][static_cast<std::size_t>(t)]);

        matrix<float> normed, q(rows, c.dim), k(rows, c.kv_dim()), v(rows, c.kv_dim()), attended, mlp_out;
        for (int l = 0; l < c.n_layers; ++l) {
            const auto& w = weights_.layers[static_cast<std::size_t>(l)];
            detail::rms_norm(x, w.rms_att, normed);
            q.noalias() = normed * w.wq.transpose();
            k.noalias() = normed * w.wk.transpose();
            v.noalias() = normed * w.wv.transpose();
            detail::apply_rope(q, T, first_position, c.head_size(), rope_);
            detail::apply_rope(k, T, first_position, c.head_size(), rope_);
            if (cache) {
                auto& keys = cache->keys[static_cast<std::size_t>(l)];
                auto& values = cache->values[static_cast<std::size_t>(l)];
                for (index_t b = 0; b < batch; ++b) {
                    keys.middleRows(b * cache->positions + first_position, T) = k.middleRows(b * T, T);
                    values.middleRows(b * cache->positions + first_position, T) = v.middleRows(b * T, T);
                }
                detail::causal_attention(q, keys, values, batch, T, first_position, cache->positions, c.n_heads,
                                         c.n_kv_heads, c.head_size(), attended);
            } else {
                detail::causal_attention(q, k, v, batch, T, 0, T, c.n_heads, c.n_kv_heads, c.head_size(), attended);
            }
            x.noalias() += attended * w.wo.transpose();

            detail::rms_norm(x, w.rms_ffn, normed);
            if (const auto it = hooks.replace.find(l); it != hooks.replace.end()) {
                mlp_out.setConstant(rows, c.dim, std::numeric_limits<float>::quiet_NaN());
                it->second(normed, mlp_out);
                detail::check_replacement_output(l, mlp_out, rows, c.dim);
            } else {
                mlp_out = mlp_forward(l, normed);
            }
            if (hooks.read) hooks.read(l, normed, mlp_out);
            if (l == last_layer) return {};
            x += mlp_out;
        }
        detail::rms_norm(x, weights_.rms_final, normed);
        return normed;
    }

    llama_weights weights_;
    detail::rope_table rope_;
};

}  // namespace sparse_distill::lm
