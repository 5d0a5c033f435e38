#pragma once
// Hand-made llama2.c files for the lm tests: a tiny random model (and its v0 checkpoint bytes) and
// a tiny tokenizer whose merges are known, so results can be worked out by hand.
#include "sparse_distill/lm.hpp"
#include "support/shared_data.hpp"
#include "support/temp_files.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace sd_test {

namespace lm = sparse_distill::lm;

/// dim 16, hidden 24, 2 layers, 4 query heads sharing 2 key/value heads (head size 4), vocab 7.
inline lm::llama_config tiny_config(bool shared_classifier = true) {
    lm::llama_config c;
    c.dim = 16;
    c.hidden_dim = 24;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.vocab_size = 7;
    c.seq_len = 12;
    c.shared_classifier = shared_classifier;
    return c;
}

/// Random weights: N(0, 0.4²) matrices, RMSNorm gains 1 + N(0, 0.1²); reproducible from `seed`.
inline lm::llama_weights random_weights(const lm::llama_config& c, unsigned seed = 7) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const auto matrix = [&](int rows, int cols) {
        sparse_distill::matrix<float> m(rows, cols);
        for (auto& x : m.reshaped()) x = 0.4f * normal(rng);
        return m;
    };
    const auto gain = [&](int n) {
        sparse_distill::vector<float> v(n);
        for (auto& x : v) x = 1.0f + 0.1f * normal(rng);
        return v;
    };
    lm::llama_weights w;
    w.config = c;
    w.token_embedding = matrix(c.vocab_size, c.dim);
    for (int l = 0; l < c.n_layers; ++l) {
        lm::llama_layer layer;
        layer.rms_att = gain(c.dim);
        layer.rms_ffn = gain(c.dim);
        layer.wq = matrix(c.dim, c.dim);
        layer.wk = matrix(c.kv_dim(), c.dim);
        layer.wv = matrix(c.kv_dim(), c.dim);
        layer.wo = matrix(c.dim, c.dim);
        layer.w1 = matrix(c.hidden_dim, c.dim);
        layer.w2 = matrix(c.dim, c.hidden_dim);
        layer.w3 = matrix(c.hidden_dim, c.dim);
        w.layers.push_back(std::move(layer));
    }
    w.rms_final = gain(c.dim);
    if (!c.shared_classifier) w.classifier = matrix(c.vocab_size, c.dim);
    return w;
}

inline std::string float_bytes(float value) { return le_bytes(std::bit_cast<std::uint32_t>(value), 4); }

template <class Derived>
std::string array_bytes(const Eigen::DenseBase<Derived>& m) {
    std::string out;
    for (Eigen::Index r = 0; r < m.rows(); ++r)
        for (Eigen::Index c = 0; c < m.cols(); ++c) out += float_bytes(m(r, c));
    return out;
}

inline std::string header_bytes(int dim, int hidden, int layers, int heads, int kv_heads, int vocab, int seq_len) {
    std::string out;
    for (const int v : {dim, hidden, layers, heads, kv_heads, vocab, seq_len})
        out += le_bytes(static_cast<std::uint32_t>(v), 4);
    return out;
}

/// The llama2.c legacy (v0) file of `w`, RoPE tables for theta `rope_theta`.
inline std::string checkpoint_bytes(const lm::llama_weights& w, double rope_theta = 10000.0) {
    const auto& c = w.config;
    std::string out = header_bytes(c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
                                   c.shared_classifier ? c.vocab_size : -c.vocab_size, c.seq_len);
    out += array_bytes(w.token_embedding);
    const auto per_layer = [&](auto member) {
        for (const auto& layer : w.layers) out += array_bytes(layer.*member);
    };
    per_layer(&lm::llama_layer::rms_att);
    per_layer(&lm::llama_layer::wq);
    per_layer(&lm::llama_layer::wk);
    per_layer(&lm::llama_layer::wv);
    per_layer(&lm::llama_layer::wo);
    per_layer(&lm::llama_layer::rms_ffn);
    per_layer(&lm::llama_layer::w1);
    per_layer(&lm::llama_layer::w2);
    per_layer(&lm::llama_layer::w3);
    out += array_bytes(w.rms_final);
    for (const bool imaginary : {false, true})
        for (int pos = 0; pos < c.seq_len; ++pos)
            for (int i = 0; i < c.head_size() / 2; ++i) {
                const float angle = static_cast<float>(pos * std::pow(rope_theta, -2.0 * i / c.head_size()));
                out += float_bytes(imaginary ? std::sin(angle) : std::cos(angle));
            }
    if (!c.shared_classifier) out += array_bytes(w.classifier);
    return out;
}

/// One token record of a tokenizer file.
inline std::string token_record(float score, const std::string& piece) {
    return float_bytes(score) + le_bytes(piece.size(), 4) + piece;
}

/// Token ids of the tiny tokenizer's pieces after the 3 special and 256 byte tokens.
enum tiny_token : int { tiny_space = 259, tiny_a, tiny_b, tiny_ab, tiny_bb, tiny_space_a, tiny_u_umlaut, tiny_vocab };

/// 3 special + 256 byte tokens, then " ", "a", "b" (score −10: never merged into), "ab" (−1),
/// "bb" (−0.5), " a" (−2) and "ü" (−10). `max_token_length` as given.
inline std::string tiny_tokenizer_bytes(int max_token_length = 6) {
    std::string out = le_bytes(static_cast<std::uint32_t>(max_token_length), 4);
    out += token_record(0.0f, "<unk>") + token_record(0.0f, "\n<s>\n") + token_record(0.0f, "\n</s>\n");
    for (int byte = 0; byte < 256; ++byte) {
        char piece[8];
        std::snprintf(piece, sizeof piece, "<0x%02X>", byte);
        out += token_record(0.0f, piece);
    }
    out += token_record(-10.0f, " ") + token_record(-10.0f, "a") + token_record(-10.0f, "b");
    out += token_record(-1.0f, "ab") + token_record(-0.5f, "bb") + token_record(-2.0f, " a");
    out += token_record(-10.0f, "\xC3\xBC");
    return out;
}

}  // namespace sd_test
