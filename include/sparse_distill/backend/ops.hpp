#pragma once
// The checked front-end of every backend op: `backend::matmul<Backend>(a, false, b, true, c)` checks the
// shapes once, here, then calls the backend's own `matmul(tag, ...)` (found by argument-dependent lookup
// in the backend's namespace, see policy.hpp). Backends therefore never check shapes themselves, and
// models, loss and optimizer name only `Backend`, never a backend's namespace.
//
// Views point to the backend's memory (a policy's `buffer`); copy_from_host / copy_to_host move data
// across. Read-only operands are in_matrix / in_vector: Scalar is deduced from the output.
#include "policy.hpp"

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace sparse_distill::backend {

namespace detail {
inline std::string shape_text(index_t rows, index_t cols) { return std::to_string(rows) + " × " + std::to_string(cols); }

[[noreturn]] inline void shape_error(const char* op, const std::string& what) {
    throw std::invalid_argument(std::string(op) + ": " + what);
}

template <class A, class B>
void require_same_shape(const char* op, const char* a_name, const A& a, const char* b_name, const B& b) {
    if (a.rows != b.rows || a.cols != b.cols)
        shape_error(op, std::string("shapes do not agree: ") + a_name + " is " + shape_text(a.rows, a.cols) + ", " + b_name +
                            " is " + shape_text(b.rows, b.cols));
}

template <class M, class V>
void require_row_vector(const char* op, const M& m, const V& v) {
    if (v.size != m.cols)
        shape_error(op, "bias size differs from column count: " + std::to_string(v.size) + " entries for " +
                            std::to_string(m.cols) + " columns");
}
}  // namespace detail

// --- data movement ---

/// Copies n values from host memory to backend memory. On a device backend it is queued: pageable
/// host memory may be reused when this returns.
template <backend_policy Backend, class Scalar>
void copy_from_host(const std::type_identity_t<Scalar>* host, Scalar* dst, index_t n) {
    if (n > 0) copy_from_host(Backend{}, host, dst, n);
}
/// Copies n values from backend memory to the host; returns when they are there.
template <backend_policy Backend, class Scalar>
void copy_to_host(const std::type_identity_t<Scalar>* src, Scalar* host, index_t n) {
    if (n > 0) copy_to_host(Backend{}, src, host, n);
}
/// Waits until every queued op has finished (a no-op on the CPU, where ops run when called).
template <backend_policy Backend>
void synchronize() {
    synchronize(Backend{});
}

// --- products and reductions ---

/// c = alpha·op(a)·op(b) + beta·c, op(x) = xᵀ when its flag says so; beta = 0 overwrites c.
template <backend_policy Backend, class Scalar>
void matmul(in_matrix<Scalar> a, bool transpose_a, in_matrix<Scalar> b, bool transpose_b, matrix_view<Scalar> c,
            Scalar alpha = Scalar(1), Scalar beta = Scalar(0)) {
    const index_t m = transpose_a ? a.cols : a.rows, k = transpose_a ? a.rows : a.cols;
    const index_t kb = transpose_b ? b.cols : b.rows, n = transpose_b ? b.rows : b.cols;
    if (k != kb || c.rows != m || c.cols != n)
        detail::shape_error("matmul", "shapes do not agree: op(a) is " + detail::shape_text(m, k) + ", op(b) is " +
                                          detail::shape_text(kb, n) + ", c is " + detail::shape_text(c.rows, c.cols));
    matmul(Backend{}, a, transpose_a, b, transpose_b, c, alpha, beta);
}

/// out[c] = alpha·Σ_r m[r, c] + beta·out[c].
template <backend_policy Backend, class Scalar>
void column_sums(in_matrix<Scalar> m, vector_view<Scalar> out, Scalar alpha = Scalar(1), Scalar beta = Scalar(0)) {
    if (out.size != m.cols)
        detail::shape_error("column_sums", "output size differs from column count: " + std::to_string(out.size) + " for " +
                                               std::to_string(m.cols) + " columns");
    column_sums(Backend{}, m, out, alpha, beta);
}

// --- elementwise ---

/// out = x − b, row-wise (the student's input pre-bias).
template <backend_policy Backend, class Scalar>
void subtract_row_vector(in_matrix<Scalar> x, in_vector<Scalar> b, matrix_view<Scalar> out) {
    detail::require_row_vector("subtract_row_vector", x, b);
    detail::require_same_shape("subtract_row_vector", "x", x, "out", out);
    subtract_row_vector(Backend{}, x, b, out);
}

/// m += b, row-wise; an empty b is a no-op (a model without that bias).
template <backend_policy Backend, class Scalar>
void add_row_vector(matrix_view<Scalar> m, in_vector<Scalar> b) {
    if (b.empty() || m.size() == 0) return;
    detail::require_row_vector("add_row_vector", m, b);
    add_row_vector(Backend{}, m, b);
}

/// m ⊙= other, elementwise (the gate of a SwiGLU MLP).
template <backend_policy Backend, class Scalar>
void multiply_elementwise(matrix_view<Scalar> m, in_matrix<Scalar> other) {
    detail::require_same_shape("multiply_elementwise", "m", m, "other", other);
    multiply_elementwise(Backend{}, m, other);
}

/// m += other, elementwise.
template <backend_policy Backend, class Scalar>
void add_elementwise(matrix_view<Scalar> m, in_matrix<Scalar> other) {
    detail::require_same_shape("add_elementwise", "m", m, "other", other);
    add_elementwise(Backend{}, m, other);
}

/// z += bias (if not empty); a = act(z); returns Σ|a| and #(a > 0). z and a may be the same view.
template <backend_policy Backend, class Scalar>
activation_sums bias_activate(matrix_view<Scalar> z, in_vector<Scalar> bias, activation act, matrix_view<Scalar> a) {
    if (!bias.empty()) detail::require_row_vector("bias_activate", z, bias);
    detail::require_same_shape("bias_activate", "z", z, "a", a);
    return bias_activate(Backend{}, z, bias, act, a);
}

/// grad = scale·(prediction − target); returns Σ (prediction − target)², summed in double.
template <backend_policy Backend, class Scalar>
double squared_error_gradient(in_matrix<Scalar> prediction, in_matrix<Scalar> target, matrix_view<Scalar> grad, Scalar scale) {
    detail::require_same_shape("squared_error_gradient", "prediction", prediction, "target", target);
    detail::require_same_shape("squared_error_gradient", "gradient", grad, "target", target);
    return squared_error_gradient(Backend{}, prediction, target, grad, scale);
}

/// grad ← (grad + l1_grad·sign(a)) ⊙ act'(z), in place: ∂loss/∂a into ∂loss/∂z, the L1 penalty included.
template <backend_policy Backend, class Scalar>
void activation_backward(matrix_view<Scalar> grad, in_matrix<Scalar> z, in_matrix<Scalar> a, activation act, Scalar l1_grad) {
    detail::require_same_shape("activation_backward", "grad", grad, "z", z);
    detail::require_same_shape("activation_backward", "a", a, "z", z);
    if (z.size() == 0) return;
    activation_backward(Backend{}, grad, z, a, act, l1_grad);
}

// --- the sparse architectures (nn/sparsity.hpp) ---

/// TopK: keeps the k largest entries of each row of a (ties at the k-th all kept), zeroes the rest;
/// returns Σ|a| and #(a > 0) of what is kept. 1 ≤ k ≤ a.cols.
template <backend_policy Backend, class Scalar>
activation_sums keep_top_k_per_row(matrix_view<Scalar> a, index_t k) {
    if (k < 1 || k > a.cols)
        detail::shape_error("keep_top_k_per_row", "k = " + std::to_string(k) + " outside [1, " + std::to_string(a.cols) + "]");
    if (a.size() == 0) return {};
    return keep_top_k_per_row(Backend{}, a, k);
}

/// BatchTopK: keeps the `kept` largest entries of the whole matrix a (ties all kept), zeroes the rest.
/// 1 ≤ kept ≤ a.size().
template <backend_policy Backend, class Scalar>
batch_selection keep_top_k_of_batch(matrix_view<Scalar> a, index_t kept) {
    if (kept < 1 || kept > a.size())
        detail::shape_error("keep_top_k_of_batch",
                            "kept = " + std::to_string(kept) + " outside [1, " + std::to_string(a.size()) + "]");
    return keep_top_k_of_batch(Backend{}, a, kept);
}

/// JumpReLU: z += bias (if not empty); a = z·H(z − θ_j), θ_j = exp(log_threshold_j), or `threshold` for
/// every column when log_threshold is empty. Returns Σ|a| and #(a > 0). z and a must not alias.
template <backend_policy Backend, class Scalar>
activation_sums jump_activate(matrix_view<Scalar> z, in_vector<Scalar> bias, in_vector<Scalar> log_threshold,
                              std::type_identity_t<Scalar> threshold, matrix_view<Scalar> a) {
    if (!bias.empty()) detail::require_row_vector("jump_activate", z, bias);
    if (!log_threshold.empty()) detail::require_row_vector("jump_activate", z, log_threshold);
    detail::require_same_shape("jump_activate", "z", z, "a", a);
    if (z.size() == 0) return {};
    return jump_activate(Backend{}, z, bias, log_threshold, threshold, a);
}

/// JumpReLU's straight-through gradient of log θ: out_j = θ_j·Σ_b K((pre_bj − θ_j)/ε)·(−(θ_j/ε)·da_bj −
/// l0_grad/ε), K(u) = 1 for |u| < ½ (the rectangle kernel), da = ∂loss/∂a before the mask. Returns how
/// many entries lie inside the window.
template <backend_policy Backend, class Scalar>
double threshold_gradient(in_matrix<Scalar> da, in_matrix<Scalar> pre, in_vector<Scalar> log_threshold,
                          std::type_identity_t<Scalar> bandwidth, std::type_identity_t<Scalar> l0_grad, vector_view<Scalar> out) {
    detail::require_same_shape("threshold_gradient", "da", da, "pre", pre);
    detail::require_row_vector("threshold_gradient", pre, log_threshold);
    if (out.size != pre.cols) detail::require_row_vector("threshold_gradient", pre, out);
    if (!(bandwidth > 0)) detail::shape_error("threshold_gradient", "the bandwidth must be positive");
    return threshold_gradient(Backend{}, da, pre, log_threshold, bandwidth, l0_grad, out);
}

/// out_bj = max(in_bj, 0) where column_mask_j ≠ 0, else 0 (AuxK's candidates among dead latents).
template <backend_policy Backend, class Scalar>
void masked_relu(in_matrix<Scalar> in, in_vector<Scalar> column_mask, matrix_view<Scalar> out) {
    detail::require_row_vector("masked_relu", in, column_mask);
    detail::require_same_shape("masked_relu", "in", in, "out", out);
    if (in.size() == 0) return;
    masked_relu(Backend{}, in, column_mask, out);
}

// --- parameter updates ---

/// One Adam(W) step on n parameters (optim::adam has the formula), with the decoder constraint of
/// args.constrain applied to each of its rows right after the row's update.
template <backend_policy Backend, class Scalar>
void adam_update(Scalar* params, const std::type_identity_t<Scalar>* grads, Scalar* m, Scalar* v, index_t n,
                 const optim::adam_update_args& args) {
    const optim::constrained_rows& rows = args.constrain;
    if (rows.mode != decoder_norm::none && rows.rows > 0 &&
        (rows.offset < 0 || rows.cols <= 0 || rows.offset + rows.rows * rows.cols > n))
        detail::shape_error("adam_update", "the constrained rows lie outside the parameter buffer (offset " +
                                               std::to_string(rows.offset) + ", " + detail::shape_text(rows.rows, rows.cols) +
                                               ", buffer of " + std::to_string(n) + ")");
    if (n > 0) adam_update(Backend{}, params, grads, m, v, n, args);
}

/// Each row of w (one per feature) scaled to norm ≤ 1 (cap) or = 1 (unit); none leaves it.
template <backend_policy Backend, class Scalar>
void constrain_rows(matrix_view<Scalar> w, decoder_norm mode) {
    if (mode == decoder_norm::none || w.size() == 0) return;
    constrain_rows(Backend{}, w, mode);
}

// --- the sparse path of a ReLU student ---

/// The active (a > 0) pairs of a [rows, h] activation matrix, by token and by feature.
template <backend_policy Backend, class Scalar>
void collect_active(in_matrix<Scalar> a, typename Backend::sparse_pattern& p) {
    collect_active(Backend{}, a, p);
}

/// y = a·W_dec from the active pairs of p (collected from this a).
template <backend_policy Backend, class Scalar>
void sparse_decode(in_matrix<Scalar> a, const typename Backend::sparse_pattern& p, in_matrix<Scalar> w_dec,
                   matrix_view<Scalar> y) {
    if (w_dec.rows != a.cols || y.rows != a.rows || y.cols != w_dec.cols)
        detail::shape_error("sparse_decode", "shapes do not agree: a is " + detail::shape_text(a.rows, a.cols) +
                                                 ", W_dec is " + detail::shape_text(w_dec.rows, w_dec.cols) + ", y is " +
                                                 detail::shape_text(y.rows, y.cols));
    sparse_decode(Backend{}, a, p, w_dec, y);
}

/// ∂W_dec, ∂W_enc and Σ_r ∂z (kept in p) from the active pairs.
template <backend_policy Backend, class Scalar>
void sparse_backward(in_matrix<Scalar> a, typename Backend::sparse_pattern& p, in_matrix<Scalar> dy, in_matrix<Scalar> w_dec,
                     in_matrix<Scalar> x, Scalar l1_grad, matrix_view<Scalar> w_dec_grad, matrix_view<Scalar> w_enc_grad) {
    detail::require_same_shape("sparse_backward", "W_dec gradient", w_dec_grad, "W_dec", w_dec);
    if (dy.rows != a.rows || dy.cols != w_dec.cols || x.rows != a.rows || w_enc_grad.rows != a.cols ||
        w_enc_grad.cols != x.cols || w_dec.rows != a.cols)
        detail::shape_error("sparse_backward", "shapes do not agree: a is " + detail::shape_text(a.rows, a.cols) + ", dy is " +
                                                   detail::shape_text(dy.rows, dy.cols) + ", x is " +
                                                   detail::shape_text(x.rows, x.cols) + ", W_enc gradient is " +
                                                   detail::shape_text(w_enc_grad.rows, w_enc_grad.cols));
    sparse_backward(Backend{}, a, p, dy, w_dec, x, l1_grad, w_dec_grad, w_enc_grad);
}

/// ∂b_enc = Σ_r ∂z (if b_enc_grad is not empty) and the pre-bias gradient −(Σ_r ∂z)·W_enc (written, or
/// added when `accumulate`; skipped if pre_grad is empty), after sparse_backward.
template <backend_policy Backend, class Scalar>
void sparse_bias_gradients(const typename Backend::sparse_pattern& p, in_matrix<Scalar> w_enc, vector_view<Scalar> b_enc_grad,
                           vector_view<Scalar> pre_grad, bool accumulate) {
    if ((!b_enc_grad.empty() && b_enc_grad.size != w_enc.rows) || (!pre_grad.empty() && pre_grad.size != w_enc.cols))
        detail::shape_error("sparse_bias_gradients", "bias gradient sizes do not match W_enc (" +
                                                         detail::shape_text(w_enc.rows, w_enc.cols) + ")");
    sparse_bias_gradients(Backend{}, p, w_enc, b_enc_grad, pre_grad, accumulate);
}

// --- whole steps ---

/// Runs `queue_step`, which queues one training step's passes (teacher when live, forward, loss,
/// backward) and returns its sums, or replays what an earlier call on the same `recording` queued:
/// the CPU runs it every time; the CUDA backend records the launches into a graph on the second call
/// and replays the graph from then on (cuda/step_replay.cuh). A recording belongs to one set of
/// buffers: the caller keeps one per distinct batch buffer, and the step must take the dense path.
template <backend_policy Backend, class QueueStep>
step_sums replay_step(typename Backend::step_recording& recording, QueueStep&& queue_step) {
    return replay_step(Backend{}, recording, std::forward<QueueStep>(queue_step));
}

}  // namespace sparse_distill::backend
