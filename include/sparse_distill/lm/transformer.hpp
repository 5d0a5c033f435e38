#pragma once
// A llama2.c model on the CPU: the decoder (decoder.hpp) with llama2.c's choices — RMSNorm with
// eps 1e-5, RoPE with theta 10000 on interleaved pairs (2i, 2i+1), grouped-query attention scaled by
// 1/√head_size, a SwiGLU MLP without biases, the token embedding as classifier unless the file has
// its own — built from the weights llama_checkpoint.hpp reads. One forward pass serves llama2.c and
// Hugging Face models alike, hooks and greedy generation included.
#include "../config.hpp"
#include "sparse_distill/lm/decoder.hpp"
#include "sparse_distill/lm/forward_hooks.hpp"
#include "sparse_distill/lm/llama_checkpoint.hpp"
#include "sparse_distill/lm/tokenizer.hpp"
#include "sparse_distill/tensor/matrix.hpp"

#include <utility>
#include <vector>

namespace sparse_distill::lm {

/// llama2.c's weights in the decoder's layout: the projections keep their [out, in] orientation; the
/// MLP becomes mlp_weights (w_in = W1, the gate; w_up = W3; w_out = W2ᵀ). Throws std::invalid_argument
/// when a shape disagrees with the config (llama_weights::validate).
inline decoder_weights<float> to_decoder_weights(llama_weights w) {
    w.validate();
    const llama_config& lc = w.config;
    decoder_weights<float> d;
    decoder_config& c = d.config;
    c.family = model_family::llama;
    c.name = "llama2.c";
    c.dim = lc.dim;
    c.hidden_dim = lc.hidden_dim;
    c.n_layers = lc.n_layers;
    c.n_heads = lc.n_heads;
    c.n_kv_heads = lc.n_kv_heads;
    c.head_dim = lc.head_size();
    c.vocab_size = lc.vocab_size;
    c.seq_len = lc.seq_len;
    c.norm = norm_kind::rms_norm;
    c.norm_eps = 1e-5;
    c.mlp_activation = activation::silu;
    c.gated_mlp = true;
    c.learned_positions = false;
    c.rope = rope_pairing::interleaved;
    c.rope_theta = 10000.0;
    c.attention_window.assign(static_cast<std::size_t>(c.n_layers), 0);
    c.tied_embeddings = lc.shared_classifier;
    d.token_embedding = std::move(w.token_embedding);
    for (llama_layer& l : w.layers) {
        decoder_layer<float> layer;
        layer.attn_norm_gain = std::move(l.rms_att);
        layer.mlp_norm_gain = std::move(l.rms_ffn);
        layer.wq = std::move(l.wq);
        layer.wk = std::move(l.wk);
        layer.wv = std::move(l.wv);
        layer.wo = std::move(l.wo);
        layer.mlp.act = activation::silu;
        layer.mlp.w_in = std::move(l.w1);
        layer.mlp.w_up = std::move(l.w3);
        layer.mlp.w_out = l.w2.transpose();
        d.layers.push_back(std::move(layer));
    }
    d.final_norm_gain = std::move(w.rms_final);
    if (!lc.shared_classifier) d.lm_head = std::move(w.classifier);
    return d;
}

/// A llama2.c model: the decoder with llama2.c's weights, and greedy generation that starts from
/// BOS by default.
class transformer : public decoder_transformer<float> {
public:
    /// Takes the weights (validated: std::invalid_argument when a shape disagrees with the config).
    explicit transformer(llama_weights weights) : decoder_transformer<float>(to_decoder_weights(std::move(weights))) {}

    /// decoder_transformer::generate_greedy, from BOS unless a prompt is given. Unlike llama2.c's
    /// run loop it does not stop at BOS.
    std::vector<int> generate_greedy(int steps, std::vector<int> prompt = {tokenizer::bos}, const forward_hooks& hooks = {}) const {
        return decoder_transformer<float>::generate_greedy(steps, std::move(prompt), hooks);
    }
};

}  // namespace sparse_distill::lm
