#pragma once
// CPU elementwise passes over [batch, width] matrices, fused so each matrix is read once per pass.
// Row-parallel: rows are tokens and independent. Reductions keep one partial per row and add the
// partials in row order afterwards, so sums do not depend on the thread count.
#include "../../config.hpp"
#include "../../nn/activation.hpp"
#include "../../tensor/view.hpp"
#include "../activation_sums.hpp"
#include "activation_arrays.hpp"
#include "lane_sums.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace sparse_distill::backend::detail {

/// Per-row partial sums, reused between calls so the steady state allocates nothing.
inline std::vector<double>& row_partials(index_t rows, int per_row) {
    thread_local std::vector<double> partials;
    partials.assign(static_cast<std::size_t>(rows * per_row), 0.0);
    return partials;
}

inline bool worth_threads(index_t elements) { return elements > 32768; }

/// out = x − b (row-wise). Used for the student's input pre-bias.
template <class Scalar>
void cpu_subtract_row_vector(matrix_view<const Scalar> x, vector_view<const Scalar> b, matrix_view<Scalar> out) {
    if (b.size != x.cols || out.rows != x.rows || out.cols != x.cols)
        throw std::invalid_argument("subtract_row_vector: shapes do not agree");
    // Rows (tokens) are independent.
#pragma omp parallel for schedule(static) if (worth_threads(x.size()))
    for (index_t r = 0; r < x.rows; ++r)
        for (index_t c = 0; c < x.cols; ++c) out.data[r * x.cols + c] = x.data[r * x.cols + c] - b.data[c];
}

/// m += b (row-wise); an empty b is a no-op (a model without that bias).
template <class Scalar>
void cpu_add_row_vector(matrix_view<Scalar> m, vector_view<const Scalar> b) {
    if (b.empty()) return;
    if (b.size != m.cols) throw std::invalid_argument("add_row_vector: bias size differs from column count");
    // Rows (tokens) are independent.
#pragma omp parallel for schedule(static) if (worth_threads(m.size()))
    for (index_t r = 0; r < m.rows; ++r)
        for (index_t c = 0; c < m.cols; ++c) m.data[r * m.cols + c] += b.data[c];
}

/// m ⊙= other (elementwise product, in place): the gate of a SwiGLU MLP.
template <class Scalar>
void cpu_multiply_elementwise(matrix_view<Scalar> m, matrix_view<const Scalar> other) {
    if (m.rows != other.rows || m.cols != other.cols) throw std::invalid_argument("multiply_elementwise: shapes do not agree");
    // Rows (tokens) are independent.
#pragma omp parallel for schedule(static) if (worth_threads(m.size()))
    for (index_t r = 0; r < m.rows; ++r)
        for (index_t c = 0; c < m.cols; ++c) m.data[r * m.cols + c] *= other.data[r * m.cols + c];
}

/// z += bias; a = act(z); returns Σ|a| and #(a > 0). Rows go through Eigen array expressions with the
/// activation fixed at compile time, so the pass vectorises; sums are in a fixed order (lane_sum_abs),
/// so they are the same for every run and thread count.
template <class Scalar>
activation_sums cpu_bias_activate(matrix_view<Scalar> z, vector_view<const Scalar> bias, activation act,
                                  matrix_view<Scalar> a) {
    if ((!bias.empty() && bias.size != z.cols) || a.rows != z.rows || a.cols != z.cols)
        throw std::invalid_argument("bias_activate: shapes do not agree");
    using row_array = Eigen::Map<Eigen::Array<Scalar, 1, Eigen::Dynamic>>;
    using const_row_array = Eigen::Map<const Eigen::Array<Scalar, 1, Eigen::Dynamic>>;
    std::vector<double>& partials = row_partials(z.rows, 2);
    const bool has_bias = !bias.empty();
    const index_t cols = z.cols;
    with_activation(act, [&](auto kind) {
        constexpr activation A = decltype(kind)::value;
        // Rows (tokens) are independent; each writes its own partial sums.
#pragma omp parallel for schedule(static) if (worth_threads(z.size()))
        for (index_t r = 0; r < z.rows; ++r) {
            row_array zr(z.data + r * cols, cols), ar(a.data + r * cols, cols);
            if (has_bias) zr += const_row_array(bias.data, cols);
            ar = activate_array<A>(zr);
            partials[2 * r] = lane_sum_abs(a.data + r * cols, cols);
            partials[2 * r + 1] = static_cast<double>((ar > Scalar(0)).count());
        }
    });
    activation_sums sums;
    for (index_t r = 0; r < z.rows; ++r) {
        sums.abs_sum += partials[2 * r];
        sums.positive_count += partials[2 * r + 1];
    }
    return sums;
}

/// grad = scale·(prediction − target); returns Σ (prediction − target)².
template <class Scalar>
double cpu_squared_error_gradient(matrix_view<const Scalar> prediction, matrix_view<const Scalar> target,
                                  matrix_view<Scalar> grad, Scalar scale) {
    if (prediction.rows != target.rows || prediction.cols != target.cols || grad.rows != target.rows ||
        grad.cols != target.cols)
        throw std::invalid_argument("squared_error_gradient: prediction, target and gradient shapes differ");
    std::vector<double>& partials = row_partials(target.rows, 1);
    // Rows (tokens) are independent; each writes its own partial sum.
#pragma omp parallel for schedule(static) if (worth_threads(target.size()))
    for (index_t r = 0; r < target.rows; ++r) {
        double sum = 0;
        for (index_t c = 0; c < target.cols; ++c) {
            const index_t i = r * target.cols + c;
            const Scalar diff = prediction.data[i] - target.data[i];
            grad.data[i] = scale * diff;
            sum += static_cast<double>(diff) * static_cast<double>(diff);
        }
        partials[r] = sum;
    }
    double total = 0;
    for (index_t r = 0; r < target.rows; ++r) total += partials[r];
    return total;
}

/// In place: grad ← (grad + l1_grad·sign(a)) ⊙ act'(z). Turns ∂loss/∂a (reconstruction part) into
/// ∂loss/∂z including the L1 penalty λ·c·Σ|a| (c = 1/batch or 1 by the L1 reduction). For ReLU,
/// a > 0 exactly where z > 0, so the pass is one select.
template <class Scalar>
void cpu_activation_backward(matrix_view<Scalar> grad, matrix_view<const Scalar> z, matrix_view<const Scalar> a,
                             activation act, Scalar l1_grad) {
    if (grad.rows != z.rows || grad.cols != z.cols || a.rows != z.rows || a.cols != z.cols)
        throw std::invalid_argument("activation_backward: shapes do not agree");
    using row_array = Eigen::Map<Eigen::Array<Scalar, 1, Eigen::Dynamic>>;
    using const_row_array = Eigen::Map<const Eigen::Array<Scalar, 1, Eigen::Dynamic>>;
    const index_t cols = z.cols;
    with_activation(act, [&](auto kind) {
        constexpr activation A = decltype(kind)::value;
        // Rows (tokens) are independent.
#pragma omp parallel for schedule(static) if (worth_threads(z.size()))
        for (index_t r = 0; r < z.rows; ++r) {
            row_array g(grad.data + r * cols, cols);
            const const_row_array zr(z.data + r * cols, cols), ar(a.data + r * cols, cols);
            if constexpr (A == activation::relu) {
                g = (ar > Scalar(0)).select(g + l1_grad, Scalar(0));
            } else {
                g = (g + l1_grad * ar.sign()) * activate_derivative_array<A>(zr);
            }
        }
    });
}

}  // namespace sparse_distill::backend::detail
