#pragma once
// The shape and the arithmetic choices of a decoder-only transformer, enough to run GPT-2, GPT-Neo
// and Llama-family models (Llama, Mistral, TinyLlama, SmolLM) with one forward pass. Each family
// fixes the choices below differently; hf_model.hpp reads them from a Hugging Face config.json.
#include "../config.hpp"
#include "sparse_distill/nn/activation.hpp"

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sparse_distill::lm {

/// The model families the decoder runs.
enum class model_family { gpt2, gpt_neo, llama };

constexpr std::string_view to_string(model_family f) {
    switch (f) {
        case model_family::gpt2: return "gpt2";
        case model_family::gpt_neo: return "gpt_neo";
        case model_family::llama: return "llama";
    }
    return "unknown";
}

/// LayerNorm (x − mean)/√(var + eps)·g + b (GPT-2, GPT-Neo) or RMSNorm x/√(mean(x²) + eps)·g (Llama).
enum class norm_kind { layer_norm, rms_norm };

/// How rotary position embedding pairs the dimensions of a head: none (learned absolute positions
/// instead), `halves` as Hugging Face's Llama rotates (i, i + head_dim/2), `interleaved` as Meta's
/// and llama2.c's code rotate (2i, 2i+1). The two are the same model up to a permutation of the
/// query and key rows, which is how the Hugging Face conversion script stores Meta's weights.
enum class rope_pairing { none, halves, interleaved };

struct decoder_config {
    model_family family = model_family::llama;
    std::string name;    ///< the model's name: config.json's _name_or_path, else its folder's name
    int dim = 0;         ///< residual stream width (d_model)
    int hidden_dim = 0;  ///< MLP width (d_mlp)
    int n_layers = 0;
    int n_heads = 0;
    int n_kv_heads = 0;  ///< key/value heads, each shared by n_heads / n_kv_heads query heads
    int head_dim = 0;    ///< usually dim / n_heads; Llama-family configs may set it apart
    int vocab_size = 0;
    int seq_len = 0;     ///< longest sequence: the position table's length, or the context the model was trained on

    norm_kind norm = norm_kind::rms_norm;
    double norm_eps = 1e-5;
    activation mlp_activation = activation::silu;
    bool gated_mlp = true;          ///< SwiGLU: act(x W_gate) ⊙ (x W_up)
    bool learned_positions = false;  ///< GPT-2/GPT-Neo add a position embedding to the token embedding
    rope_pairing rope = rope_pairing::halves;
    double rope_theta = 10000.0;
    /// transformers' Llama RMSNorm normalises in float32 (input cast to float32, the result cast
    /// back before the gain) whatever the model's dtype; a double model follows it so that it
    /// reproduces a float64 `transformers` run. A no-op in a float model.
    bool norm_in_float32 = false;
    bool scale_attention = true;    ///< scores q·k/√head_dim; GPT-Neo does not scale
    /// GPT-2's scale_attn_by_inverse_layer_idx: scores also divided by layer + 1.
    bool scale_attention_by_layer = false;
    /// Per layer: 0 for global causal attention, w > 0 for local attention where the query at i sees
    /// the keys j with i − w < j ≤ i (GPT-Neo's "local" layers, Mistral's sliding window).
    std::vector<int> attention_window;
    bool tied_embeddings = true;    ///< logits use the token embedding when the file has no lm_head

    int q_dim() const { return n_heads * head_dim; }
    int kv_dim() const { return n_kv_heads * head_dim; }

    /// "gpt_neo: dim 32, hidden_dim 128, …" for messages and reports.
    std::string describe() const {
        return std::string(to_string(family)) + ": dim " + std::to_string(dim) + ", hidden_dim " + std::to_string(hidden_dim) +
               ", n_layers " + std::to_string(n_layers) + ", n_heads " + std::to_string(n_heads) + ", n_kv_heads " +
               std::to_string(n_kv_heads) + ", head_dim " + std::to_string(head_dim) + ", vocab_size " +
               std::to_string(vocab_size) + ", seq_len " + std::to_string(seq_len);
    }

    /// Throws std::invalid_argument naming the first field that cannot describe a model.
    void validate() const {
        const auto fail = [](const std::string& field, const std::string& problem) {
            throw std::invalid_argument("decoder_config." + field + ": " + problem);
        };
        const std::pair<const char*, int> sizes[] = {{"dim", dim},         {"hidden_dim", hidden_dim}, {"n_layers", n_layers},
                                                     {"n_heads", n_heads}, {"n_kv_heads", n_kv_heads}, {"head_dim", head_dim},
                                                     {"vocab_size", vocab_size}, {"seq_len", seq_len}};
        for (const auto& [name, value] : sizes)
            if (value <= 0) fail(name, "expected a positive value, found " + std::to_string(value));
        if (n_heads % n_kv_heads != 0)
            fail("n_kv_heads", "expected a divisor of n_heads = " + std::to_string(n_heads) + ", found " + std::to_string(n_kv_heads));
        if (rope != rope_pairing::none && head_dim % 2 != 0)
            fail("head_dim", "expected an even head size, as RoPE rotates pairs; found " + std::to_string(head_dim));
        if (!(norm_eps >= 0)) fail("norm_eps", "expected a non-negative number, found " + std::to_string(norm_eps));
        if (rope != rope_pairing::none && !(rope_theta > 0))
            fail("rope_theta", "expected a positive number, found " + std::to_string(rope_theta));
        if (attention_window.size() != static_cast<std::size_t>(n_layers))
            fail("attention_window", "expected one entry per layer (" + std::to_string(n_layers) + "), found " +
                                         std::to_string(attention_window.size()));
        for (std::size_t l = 0; l < attention_window.size(); ++l)
            if (attention_window[l] < 0)
                fail("attention_window[" + std::to_string(l) + "]",
                     "expected 0 (global) or a positive window, found " + std::to_string(attention_window[l]));
    }
};

}  // namespace sparse_distill::lm
