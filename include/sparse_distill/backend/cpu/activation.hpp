#pragma once
// The fused activation passes of the student (and the teacher's hidden layer), on the CPU:
//   bias_activate:       z += bias; a = act(z); Σ|a| and #(a > 0) in the same pass, for the loss;
//   activation_backward: grad ← (grad + l1_grad·sign(a)) ⊙ act'(z), the L1 gradient mask fused in.
// Row-parallel: rows are tokens and independent. Twin: cuda/activation.cuh.
#include "../../config.hpp"
#include "../../nn/activation.hpp"
#include "../../tensor/view.hpp"
#include "../activation_sums.hpp"
#include "activation_arrays.hpp"
#include "lane_sums.hpp"
#include "parallel.hpp"
#include "tag.hpp"

#include <vector>

namespace sparse_distill::backend::cpu_system {

/// z += bias; a = act(z); returns Σ|a| and #(a > 0). Rows go through Eigen array expressions with the
/// activation fixed at compile time, so the pass vectorises; sums are in a fixed order (lane_sum_abs),
/// so they are the same for every run and thread count.
template <class Scalar>
activation_sums bias_activate(tag, matrix_view<Scalar> z, vector_view<const Scalar> bias, activation act,
                                  matrix_view<Scalar> a) {
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
    return sum_row_activation_partials(partials, z.rows);
}

/// In place: grad ← (grad + l1_grad·sign(a)) ⊙ act'(z). Turns ∂loss/∂a (reconstruction part) into
/// ∂loss/∂z including the L1 penalty λ·c·Σ|a| (c = 1/batch or 1 by the L1 reduction). For ReLU,
/// a > 0 exactly where z > 0, so the pass is one select.
template <class Scalar>
void activation_backward(tag, matrix_view<Scalar> grad, matrix_view<const Scalar> z, matrix_view<const Scalar> a,
                             activation act, Scalar l1_grad) {
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

}  // namespace sparse_distill::backend::cpu_system
