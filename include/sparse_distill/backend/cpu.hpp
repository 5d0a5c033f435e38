#pragma once
// The CPU backend policy. Models, loss, optimizer and trainer are written against a policy's
// static operations on views; `backend::cuda` (opt-in, nvcc only) provides the same names with the
// same argument order, so callers switch backends by changing one template argument.
#include "../config.hpp"
#include "cpu/buffer.hpp"
#include "cpu/linalg.hpp"
#include "cpu/optimizer.hpp"
#include "cpu/pointwise.hpp"
#include "cpu/sparse.hpp"

#include <cstring>
#include <type_traits>

namespace sparse_distill::backend {

/// Host memory, Eigen products, OpenMP loops.
struct cpu {
    static constexpr const char* name = "cpu";

    template <class Scalar>
    using buffer = detail::host_buffer<Scalar>;

    // --- data movement (host ↔ backend memory; plain copies here) ---
    template <class Scalar>
    static void copy_from_host(const std::type_identity_t<Scalar>* host, Scalar* dst, index_t n) {
        if (n > 0 && host != dst) std::memcpy(dst, host, sizeof(Scalar) * static_cast<std::size_t>(n));
    }
    template <class Scalar>
    static void copy_to_host(const std::type_identity_t<Scalar>* src, Scalar* host, index_t n) {
        if (n > 0 && host != src) std::memcpy(host, src, sizeof(Scalar) * static_cast<std::size_t>(n));
    }

    // --- products and reductions ---
    /// c = alpha·op(a)·op(b) + beta·c.
    template <class Scalar>
    static void matmul(in_matrix<Scalar> a, bool transpose_a, in_matrix<Scalar> b, bool transpose_b,
                       matrix_view<Scalar> c, Scalar alpha = Scalar(1), Scalar beta = Scalar(0)) {
        detail::cpu_matmul(a, transpose_a, b, transpose_b, c, alpha, beta);
    }
    /// out[c] = alpha·Σ_r m[r, c] + beta·out[c].
    template <class Scalar>
    static void column_sums(in_matrix<Scalar> m, vector_view<Scalar> out, Scalar alpha = Scalar(1),
                            Scalar beta = Scalar(0)) {
        detail::cpu_column_sums(m, out, alpha, beta);
    }

    // --- elementwise ---
    template <class Scalar>
    static void subtract_row_vector(in_matrix<Scalar> x, in_vector<Scalar> b, matrix_view<Scalar> out) {
        detail::cpu_subtract_row_vector(x, b, out);
    }
    template <class Scalar>
    static void add_row_vector(matrix_view<Scalar> m, in_vector<Scalar> b) {
        detail::cpu_add_row_vector(m, b);
    }
    /// m ⊙= other, elementwise.
    template <class Scalar>
    static void multiply_elementwise(matrix_view<Scalar> m, in_matrix<Scalar> other) {
        detail::cpu_multiply_elementwise(m, other);
    }
    /// z += bias; a = act(z); returns Σ|a| and #(a > 0).
    template <class Scalar>
    static activation_sums bias_activate(matrix_view<Scalar> z, in_vector<Scalar> bias, activation act,
                                         matrix_view<Scalar> a) {
        return detail::cpu_bias_activate(z, bias, act, a);
    }
    /// grad = scale·(prediction − target); returns Σ (prediction − target)².
    template <class Scalar>
    static double squared_error_gradient(in_matrix<Scalar> prediction, in_matrix<Scalar> target,
                                         matrix_view<Scalar> grad, Scalar scale) {
        return detail::cpu_squared_error_gradient(prediction, target, grad, scale);
    }
    /// grad ← (grad + l1_grad·sign(a)) ⊙ act'(z), in place.
    template <class Scalar>
    static void activation_backward(matrix_view<Scalar> grad, in_matrix<Scalar> z, in_matrix<Scalar> a,
                                    activation act, Scalar l1_grad) {
        detail::cpu_activation_backward(grad, z, a, act, l1_grad);
    }

    // --- parameter updates ---
    template <class Scalar>
    static void adam_update(Scalar* params, const std::type_identity_t<Scalar>* grads, Scalar* m, Scalar* v, index_t n,
                            const optim::adam_update_args& args) {
        detail::cpu_adam_update(params, grads, m, v, n, args);
    }
    template <class Scalar>
    static void constrain_rows(matrix_view<Scalar> w, decoder_norm mode) {
        detail::cpu_constrain_rows(w, mode);
    }

    // --- the sparse path of a ReLU student (cpu/sparse.hpp) ---
    /// The active (token, feature) pairs of a step, by token and by feature.
    using sparse_pattern = detail::active_pattern;
    template <class Scalar>
    static void collect_active(in_matrix<Scalar> a, sparse_pattern& p) {
        detail::cpu_collect_active(a, p);
    }
    /// y = a·W_dec from the active pairs.
    template <class Scalar>
    static void sparse_decode(in_matrix<Scalar> a, const sparse_pattern& p, in_matrix<Scalar> w_dec, matrix_view<Scalar> y) {
        detail::cpu_sparse_decode(a, p, w_dec, y);
    }
    /// ∂W_dec, ∂W_enc and Σ_r ∂z (in p.dz_sum) from the active pairs.
    template <class Scalar>
    static void sparse_backward(in_matrix<Scalar> a, sparse_pattern& p, in_matrix<Scalar> dy, in_matrix<Scalar> w_dec,
                                in_matrix<Scalar> x, Scalar l1_grad, matrix_view<Scalar> w_dec_grad,
                                matrix_view<Scalar> w_enc_grad) {
        detail::cpu_sparse_backward(a, p, dy, w_dec, x, l1_grad, w_dec_grad, w_enc_grad);
    }
    /// ∂b_enc = Σ_r ∂z (if b_enc_grad is not empty) and the pre-bias gradient −(Σ_r ∂z)·W_enc (written,
    /// or added when `accumulate`; skipped if pre_grad is empty), after sparse_backward.
    template <class Scalar>
    static void sparse_bias_gradients(const sparse_pattern& p, in_matrix<Scalar> w_enc, vector_view<Scalar> b_enc_grad,
                                      vector_view<Scalar> pre_grad, bool accumulate) {
        detail::cpu_sparse_bias_gradients(p, w_enc, b_enc_grad, pre_grad, accumulate);
    }
};

}  // namespace sparse_distill::backend
