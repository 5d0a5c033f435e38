#pragma once
// Host-side weights of a one-hidden-layer MLP (the teacher), in the library's feature-major layout.
//
// Layout: row i of `w_in` is neuron i's input (encoder) vector and row i of `w_out` its output
// (decoder) vector, both of length d_model. In the post's notation MLP(x) = W2·act(W1·x + b1) + b2,
// w_in = W1 and w_out = W2ᵀ; in transformer_lens names w_in = W_inᵀ and w_out = W_out.
//
// A gated MLP (SwiGLU, Llama) also has `w_up`: MLP(x) = W2·(act(W1·x + b1) ⊙ (W3·x)) with act = silu,
// w_in = W1 (gate_proj), w_up = W3 (up_proj), w_out = W2ᵀ (down_proj); neuron i's activation is
// act(w_in_i·x + b_in_i)·(w_up_i·x).
#include "../random/fill.hpp"
#include "../tensor/matrix.hpp"
#include "activation.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace sparse_distill {

template <class Scalar>
struct mlp_weights {
    matrix<Scalar> w_in;   ///< [d_mlp, d_model]
    vector<Scalar> b_in;   ///< [d_mlp], or empty for no bias
    matrix<Scalar> w_out;  ///< [d_mlp, d_model]
    vector<Scalar> b_out;  ///< [d_model], or empty for no bias
    matrix<Scalar> w_up;   ///< [d_mlp, d_model] for a gated (SwiGLU) MLP, else empty
    activation act = activation::gelu;

    bool gated() const { return w_up.size() != 0; }

    index_t d_model() const { return w_in.cols(); }
    index_t d_mlp() const { return w_in.rows(); }

    /// Throws std::invalid_argument naming the offending field when shapes disagree.
    void validate() const {
        auto fail = [](const std::string& what) { throw std::invalid_argument("mlp_weights: " + what); };
        if (w_in.rows() == 0 || w_in.cols() == 0) fail("w_in is empty; expected [d_mlp, d_model]");
        if (w_out.rows() != w_in.rows() || w_out.cols() != w_in.cols())
            fail("w_out is [" + std::to_string(w_out.rows()) + ", " + std::to_string(w_out.cols()) +
                 "], expected [d_mlp, d_model] = [" + std::to_string(w_in.rows()) + ", " +
                 std::to_string(w_in.cols()) + "] (row i = output vector of neuron i)");
        if (gated() && (w_up.rows() != w_in.rows() || w_up.cols() != w_in.cols()))
            fail("w_up is [" + std::to_string(w_up.rows()) + ", " + std::to_string(w_up.cols()) +
                 "], expected [d_mlp, d_model] = [" + std::to_string(w_in.rows()) + ", " + std::to_string(w_in.cols()) + "]");
        if (b_in.size() != 0 && b_in.size() != d_mlp())
            fail("b_in has " + std::to_string(b_in.size()) + " entries, expected d_mlp = " + std::to_string(d_mlp()));
        if (b_out.size() != 0 && b_out.size() != d_model())
            fail("b_out has " + std::to_string(b_out.size()) + " entries, expected d_model = " +
                 std::to_string(d_model()));
    }
};

/// A random teacher initialised as torch.nn.Linear does: every weight and bias ~ U(−1/√fan_in, 1/√fan_in),
/// fan_in = d_model for the input layer and d_mlp for the output layer.
template <class Scalar>
mlp_weights<Scalar> random_mlp_weights(index_t d_model, index_t d_mlp, activation act, std::uint64_t seed,
                                       bool biases = true) {
    enum stream : std::uint64_t { w_in_stream = 101, b_in_stream, w_out_stream, b_out_stream };
    mlp_weights<Scalar> w;
    w.act = act;
    const double bound_in = 1.0 / std::sqrt(double(d_model)), bound_out = 1.0 / std::sqrt(double(d_mlp));
    w.w_in.resize(d_mlp, d_model);
    random::fill_uniform(w.w_in, random::counter_rng(seed, w_in_stream), -bound_in, bound_in);
    w.w_out.resize(d_mlp, d_model);
    random::fill_uniform(w.w_out, random::counter_rng(seed, w_out_stream), -bound_out, bound_out);
    if (biases) {
        w.b_in.resize(d_mlp);
        random::fill_uniform(w.b_in, random::counter_rng(seed, b_in_stream), -bound_in, bound_in);
        w.b_out.resize(d_model);
        random::fill_uniform(w.b_out, random::counter_rng(seed, b_out_stream), -bound_out, bound_out);
    }
    return w;
}

/// A random teacher scaled to its inputs, for synthetic experiments: W_in ~ N(0, 1/E‖x‖²) so that
/// every pre-activation has unit variance whatever the input's scale (the neurons are genuinely
/// non-linear, not stuck in GELU's near-linear region around 0), b_in ~ N(0, bias_stddev²), each
/// neuron's output vector (row of W_out) ~ N(0, output_norm²/d_model · I) so its norm is about
/// `output_norm`, and b_out = 0. (With decoder rows capped at norm 1, a student copies a neuron whose
/// output is longer than 1 by scaling its encoder, or by splitting it over several features.)
template <class Scalar>
mlp_weights<Scalar> input_scaled_mlp_weights(index_t d_model, index_t d_mlp, activation act,
                                             double expected_input_squared_norm, std::uint64_t seed,
                                             double bias_stddev = 0.5, double output_norm = 1.0) {
    if (!(expected_input_squared_norm > 0))
        throw std::invalid_argument("input_scaled_mlp_weights: expected_input_squared_norm must be positive");
    if (!(output_norm > 0 && std::isfinite(output_norm)))
        throw std::invalid_argument("input_scaled_mlp_weights: output_norm must be positive and finite");
    if (!(bias_stddev >= 0 && std::isfinite(bias_stddev)))
        throw std::invalid_argument("input_scaled_mlp_weights: bias_stddev must be non-negative and finite");
    enum stream : std::uint64_t { w_in_stream = 111, b_in_stream, w_out_stream };
    mlp_weights<Scalar> w;
    w.act = act;
    w.w_in.resize(d_mlp, d_model);
    random::fill_normal(w.w_in, random::counter_rng(seed, w_in_stream), 0, 1.0 / std::sqrt(expected_input_squared_norm));
    w.b_in.resize(d_mlp);
    random::fill_normal(w.b_in, random::counter_rng(seed, b_in_stream), 0, bias_stddev);
    w.w_out.resize(d_mlp, d_model);
    random::fill_normal(w.w_out, random::counter_rng(seed, w_out_stream), 0, output_norm / std::sqrt(double(d_model)));
    w.b_out = vector<Scalar>::Zero(d_model);
    return w;
}

}  // namespace sparse_distill
