#pragma once
// The weights of a decoder-only transformer in one layout whatever file they came from: projections
// as torch.nn.Linear stores them, [out, in] with y = x·Wᵀ + b (GPT-2's Conv1D [in, out] is
// transposed on reading), and each MLP as the library's mlp_weights (row i of w_in, w_up and w_out
// belongs to neuron i), so a layer's MLP is directly a distillation teacher.
#include "../config.hpp"
#include "sparse_distill/lm/decoder_config.hpp"
#include "sparse_distill/nn/mlp_weights.hpp"
#include "sparse_distill/tensor/matrix.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace sparse_distill::lm {

template <class Scalar>
struct decoder_layer {
    vector<Scalar> attn_norm_gain, attn_norm_bias;  ///< [dim]; the bias is empty for RMSNorm
    matrix<Scalar> wq, wk, wv, wo;                  ///< [q_dim, dim], [kv_dim, dim], [kv_dim, dim], [dim, q_dim]
    vector<Scalar> bq, bk, bv, bo;                  ///< empty when the projection has no bias
    vector<Scalar> mlp_norm_gain, mlp_norm_bias;    ///< [dim]; the MLP's input is this norm's output
    mlp_weights<Scalar> mlp;                        ///< d_model = dim, d_mlp = hidden_dim
};

template <class Scalar>
struct decoder_weights {
    decoder_config config;
    matrix<Scalar> token_embedding;     ///< [vocab_size, dim]
    matrix<Scalar> position_embedding;  ///< [seq_len, dim] with learned positions, else empty
    std::vector<decoder_layer<Scalar>> layers;
    vector<Scalar> final_norm_gain, final_norm_bias;  ///< [dim]; the bias is empty for RMSNorm
    matrix<Scalar> lm_head;  ///< [vocab_size, dim]; empty: the token embedding (tied)

    const matrix<Scalar>& output_matrix() const { return lm_head.size() != 0 ? lm_head : token_embedding; }

    /// Throws std::invalid_argument naming the first array whose shape disagrees with the config.
    void validate() const {
        config.validate();
        const auto& c = config;
        const auto fail = [](const std::string& what) { throw std::invalid_argument("decoder_weights: " + what); };
        const auto check_matrix = [&](const std::string& name, const matrix<Scalar>& m, index_t rows, index_t cols) {
            if (m.rows() != rows || m.cols() != cols)
                fail(name + " is [" + std::to_string(m.rows()) + ", " + std::to_string(m.cols()) + "], expected [" +
                     std::to_string(rows) + ", " + std::to_string(cols) + "]");
        };
        const auto check_vector = [&](const std::string& name, const vector<Scalar>& v, index_t size, bool optional) {
            if ((optional && v.size() == 0) || v.size() == size) return;
            fail(name + " has " + std::to_string(v.size()) + " entries, expected " + std::to_string(size));
        };
        const bool layer_norm = c.norm == norm_kind::layer_norm;
        const auto check_norm = [&](const std::string& name, const vector<Scalar>& gain, const vector<Scalar>& bias) {
            check_vector(name + " gain", gain, c.dim, false);
            if (layer_norm) check_vector(name + " bias", bias, c.dim, false);
            else if (bias.size() != 0) fail(name + " has a bias, which RMSNorm does not take");
        };
        check_matrix("token_embedding", token_embedding, c.vocab_size, c.dim);
        if (c.learned_positions) check_matrix("position_embedding", position_embedding, c.seq_len, c.dim);
        else if (position_embedding.size() != 0) fail("position_embedding is set, but the config uses rotary positions");
        if (lm_head.size() != 0) check_matrix("lm_head", lm_head, c.vocab_size, c.dim);
        check_norm("final norm", final_norm_gain, final_norm_bias);
        if (layers.size() != static_cast<std::size_t>(c.n_layers))
            fail("has " + std::to_string(layers.size()) + " layers, expected n_layers = " + std::to_string(c.n_layers));
        for (std::size_t i = 0; i < layers.size(); ++i) {
            const auto& l = layers[i];
            const std::string at = "layer " + std::to_string(i) + " ";
            check_norm(at + "attention norm", l.attn_norm_gain, l.attn_norm_bias);
            check_norm(at + "MLP norm", l.mlp_norm_gain, l.mlp_norm_bias);
            check_matrix(at + "wq", l.wq, c.q_dim(), c.dim);
            check_matrix(at + "wk", l.wk, c.kv_dim(), c.dim);
            check_matrix(at + "wv", l.wv, c.kv_dim(), c.dim);
            check_matrix(at + "wo", l.wo, c.dim, c.q_dim());
            check_vector(at + "bq", l.bq, c.q_dim(), true);
            check_vector(at + "bk", l.bk, c.kv_dim(), true);
            check_vector(at + "bv", l.bv, c.kv_dim(), true);
            check_vector(at + "bo", l.bo, c.dim, true);
            try {
                l.mlp.validate();
            } catch (const std::invalid_argument& e) {
                fail(at + e.what());
            }
            check_matrix(at + "mlp.w_in", l.mlp.w_in, c.hidden_dim, c.dim);
            if (l.mlp.gated() != c.gated_mlp)
                fail(at + (c.gated_mlp ? "MLP has no up projection, but the config says gated" : "MLP is gated, but the config says not"));
        }
    }
};

}  // namespace sparse_distill::lm
