#pragma once
// The teacher's input gradient, ∂(g·y)/∂x = J(x)ᵀ·g for an output gradient g, on the host: for
// checking the teacher's forward pass against finite differences (gated or not) and for attribution.
//   plain:  z = x·W_inᵀ + b_in, h = act(z):           ∂x = ((g·W_out) ⊙ act'(z))·W_in
//   gated:  h = act(z) ⊙ u, u = x·W_upᵀ:              ∂x = ((g·W_out) ⊙ u ⊙ act'(z))·W_in + ((g·W_out) ⊙ act(z))·W_up
// (rows of W_in, W_up and W_out are neurons: feature-major, as everywhere in the library).
#include "mlp_weights.hpp"

#include <stdexcept>
#include <string>

namespace sparse_distill {

/// The teacher's output for host inputs, computed directly from the weights (a reference for tests).
template <class Scalar>
matrix<Scalar> mlp_reference_forward(const mlp_weights<Scalar>& w, const matrix<Scalar>& x) {
    w.validate();
    matrix<Scalar> z = x * w.w_in.transpose();
    if (w.b_in.size() != 0) z.rowwise() += w.b_in.transpose();
    matrix<Scalar> h = z.unaryExpr([&](Scalar v) { return activate(w.act, v); });
    if (w.gated()) h = h.cwiseProduct(matrix<Scalar>(x * w.w_up.transpose()));
    matrix<Scalar> y = h * w.w_out;
    if (w.b_out.size() != 0) y.rowwise() += w.b_out.transpose();
    return y;
}

/// J(x)ᵀ·g per row: the gradient of Σ g ⊙ y with respect to x, [rows, d_model].
template <class Scalar>
matrix<Scalar> mlp_input_gradient(const mlp_weights<Scalar>& w, const matrix<Scalar>& x, const matrix<Scalar>& grad_out) {
    w.validate();
    if (x.cols() != w.d_model() || grad_out.cols() != w.d_model() || grad_out.rows() != x.rows())
        throw std::invalid_argument("mlp_input_gradient: x and grad_out must both be [rows, d_model = " +
                                    std::to_string(w.d_model()) + "]");
    matrix<Scalar> z = x * w.w_in.transpose();
    if (w.b_in.size() != 0) z.rowwise() += w.b_in.transpose();
    const matrix<Scalar> dh = grad_out * w.w_out.transpose();
    const matrix<Scalar> dact = z.unaryExpr([&](Scalar v) { return activate_derivative(w.act, v); });
    if (!w.gated()) return matrix<Scalar>(dh.cwiseProduct(dact)) * w.w_in;
    const matrix<Scalar> u = x * w.w_up.transpose();
    const matrix<Scalar> act = z.unaryExpr([&](Scalar v) { return activate(w.act, v); });
    return matrix<Scalar>(dh.cwiseProduct(u).cwiseProduct(dact)) * w.w_in + matrix<Scalar>(dh.cwiseProduct(act)) * w.w_up;
}

}  // namespace sparse_distill
